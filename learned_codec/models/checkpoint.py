"""A model on disk: config.json + model.safetensors (the weights codecs and eval use).

    RUN_DIR/config.json                  run config: {"model": {...}, "train": {...}, "quant": ...}
    RUN_DIR/model.safetensors            best weights (highest validation PSNR)

Never pickles: tensors go to safetensors, everything else to JSON, every file written
atomically (temp + rename). Each .safetensors file carries, in its metadata, the SHA-256
of its tensors (`weights_sha256`), checked on load: a truncated or bit-flipped file is a
UserError, not a silently different model. The codec container binds the weights' hash.
A training run's resumable state (last.json, checkpoints/) is training/run_folder.py's.
"""
import hashlib
import json
from pathlib import Path

import torch

from learned_codec.errors import UserError
from learned_codec.fileio import atomic_write_bytes, atomic_write_json
from learned_codec.models.identity import (  # noqa: F401
    BEST_NAME,
    CONFIG_NAME,
    SHIPPED_WEIGHTS_DIR,
    resolve_run,
)


def weights_sha256(tensors):
    """SHA-256 over (name, dtype, shape, bytes) of each tensor in name order.

    Independent of file layout and metadata, so the same weights always hash the same."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}\0{str(t.dtype)}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _plain(tensors):
    """CPU, contiguous, unshared copies (safetensors refuses shared storage)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}


def save_tensors(path, tensors, metadata=None):
    from safetensors.torch import save

    tensors = _plain(tensors)
    meta = {k: str(v) for k, v in (metadata or {}).items()}
    meta["weights_sha256"] = weights_sha256(tensors)
    atomic_write_bytes(path, save(tensors, metadata=meta))
    return meta["weights_sha256"]


def load_tensors(path):
    """(tensors, metadata) from a .safetensors file; missing/corrupt -> UserError."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing checkpoint file {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for bad headers/lengths
        raise UserError(f"{path} is not a readable safetensors file ({type(e).__name__}: {e})") from None
    expected = metadata.get("weights_sha256")
    if expected is None:
        raise UserError(f"{path} has no weights_sha256 in its metadata; not a learned-codec checkpoint")
    if weights_sha256(tensors) != expected:
        raise UserError(f"{path} is corrupt: its tensors do not match their SHA-256")
    return tensors, metadata


def read_json(path):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing {path}")
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None


# ---- run config -------------------------------------------------------------------

def save_config(run_dir, config):
    atomic_write_json(Path(run_dir) / CONFIG_NAME, config)


def load_config(run_dir):
    config = read_json(Path(run_dir) / CONFIG_NAME)
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise UserError(f"{Path(run_dir) / CONFIG_NAME} has no 'model' section")
    return config


# ---- best weights -----------------------------------------------------------------

def save_best(run_dir, model_state, model_config, info):
    """RUN_DIR/model.safetensors with the model config and `info` (epoch, metrics) as metadata."""
    meta = {"model_config": json.dumps(model_config, sort_keys=True),
            "info": json.dumps(info, sort_keys=True)}
    return save_tensors(Path(run_dir) / BEST_NAME, model_state, meta)

















# ---- loading a trained model ------------------------------------------------------

def load_weights(model, tensors, run_dir):
    """model with `tensors` loaded (strict); weights that do not fit the config -> UserError."""
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise UserError(f"weights in {run_dir} do not fit its config ({first})") from None
    return model


def init_from_run(model, source, arch):
    """Load the best weights of run folder / shipped model `source` into `model` (the start of
    a fine-tuning run; shapes must match); returns what the run config records:
    {"run", "weights_sha256"}."""
    from learned_codec.models.identity import model_identity

    their_arch, sha = model_identity(source)
    if their_arch != arch:
        raise UserError(f"--init-from {source} holds a {their_arch} model, not {arch}")
    tensors, _ = load_tensors(resolve_run(source) / BEST_NAME)
    load_weights(model, tensors, source)
    return {"run": str(source), "weights_sha256": sha}


def load_model(run_dir_or_name, device="cpu"):
    """(model in eval mode, run config) from a run folder or shipped name (its best weights).

    The SHA-256 of the loaded weights is in config["weights_sha256"] and
    model.weights_sha256 (the codec container binds it)."""
    from learned_codec.models import build_model

    run_dir = resolve_run(run_dir_or_name)
    tensors, meta = load_tensors(run_dir / BEST_NAME)
    sha = meta["weights_sha256"]
    if (run_dir / CONFIG_NAME).is_file():
        config = load_config(run_dir)
    elif "model_config" in meta:
        config = {"model": json.loads(meta["model_config"])}
    else:
        raise UserError(f"missing {run_dir / CONFIG_NAME}")
    stored, compression = tensors, meta.get("compression")
    if compression:  # pruned / fp16 / int8 weights (learned-codec compress-model)
        from learned_codec.model_compression.storage import decode_state
        try:
            tensors, compression = decode_state(stored, compression)
        except ValueError as e:
            raise UserError(f"{run_dir / BEST_NAME}: bad compressed weights ({e})") from None
    model = load_weights(build_model(config["model"]), tensors, run_dir)
    if compression:
        from learned_codec.model_compression.storage import finish_model
        model = finish_model(model, compression, stored)
        model.stored_bytes = (run_dir / BEST_NAME).stat().st_size
    model.weights_sha256 = sha
    return model.to(device).eval(), {**config, "weights_sha256": sha}
