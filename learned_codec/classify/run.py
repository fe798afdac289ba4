"""Classifier run folders: everything needed to rebuild a trained classifier and feed it.

    RUN_DIR/config.json         {"kind": "classifier",
                                 "model": {"arch", "in_channels", "image_size", "num_classes", ...},
                                 "data": {"dataset", "class_names", "channels", "input_size",
                                          "image_size", "mean", "std", "normalize"},
                                 "train": {...how it was trained...}}
    RUN_DIR/model.safetensors   weights and BatchNorm statistics (state_dict), with the
                                SHA-256 of its tensors in the metadata (checked on load)
    RUN_DIR/metrics.json        optional: test accuracy, per-class accuracy, history, ...

Written atomically through learned_codec.models.checkpoint / fileio; never pickles.
"""
import json
from pathlib import Path

from learned_codec.classify.model import build_classifier
from learned_codec.errors import UserError
from learned_codec.fileio import atomic_write_json, check_writable_dir
from learned_codec.models.checkpoint import (
    BEST_NAME,
    CONFIG_NAME,
    load_tensors,
    load_weights,
    read_json,
    save_tensors,
)

METRICS_NAME = "metrics.json"
RUN_KIND = "classifier"


def save_classifier_run(run_dir, model, config, metrics=None):
    """Write config.json, model.safetensors (and metrics.json when given) into run_dir."""
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict) \
            or not isinstance(config.get("data"), dict):
        raise ValueError("a classifier run config needs 'model' and 'data' sections")
    run_dir = check_writable_dir(run_dir)
    config = {**config, "kind": RUN_KIND}
    state = {k: v for k, v in model.state_dict().items()}
    sha = save_tensors(run_dir / BEST_NAME, state,
                       {"kind": RUN_KIND, "model_config": json.dumps(config["model"], sort_keys=True)})
    atomic_write_json(run_dir / CONFIG_NAME, {**config, "weights_sha256": sha})
    if metrics is not None:
        atomic_write_json(run_dir / METRICS_NAME, metrics)
    return run_dir


def load_classifier_config(run_dir):
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"classifier run folder {run_dir} does not exist")
    config = read_json(run_dir / CONFIG_NAME)
    if not isinstance(config, dict) or config.get("kind") != RUN_KIND:
        raise UserError(f"{run_dir} is not a classifier run (its config.json has no \"kind\": \"classifier\"); "
                        f"make one with `learned-codec classify train`")
    for section in ("model", "data"):
        if not isinstance(config.get(section), dict):
            raise UserError(f"{run_dir / CONFIG_NAME} has no '{section}' section")
    for key in ("mean", "std", "class_names"):
        if not isinstance(config["data"].get(key), list):
            raise UserError(f"{run_dir / CONFIG_NAME}: data section has no list '{key}'")
    return config


def load_classifier_run(run_dir, device="cpu"):
    """(model in eval mode, config) from a classifier run folder; missing/corrupt -> UserError."""
    run_dir = Path(run_dir)
    config = load_classifier_config(run_dir)
    tensors, meta = load_tensors(run_dir / BEST_NAME)
    model = load_weights(build_classifier(config["model"]), tensors, run_dir)
    model.weights_sha256 = meta["weights_sha256"]
    return model.to(device).eval(), {**config, "weights_sha256": meta["weights_sha256"]}


def load_classifier_metrics(run_dir):
    path = Path(run_dir) / METRICS_NAME
    return read_json(path) if path.is_file() else None
