"""compress-model for classifier runs (learned-codec classify train): the whole network is
pruned / stored in float16 / int8, and each variant is measured on the test split:
top-1, micro precision/recall/F1, per-class accuracy, and the CIE analysis against the
uncompressed model (cie.py, the reference paper's section IX.vii).

Pruned variants fine-tune with the classifier's own training loop
(learned_codec.classify.train.train_classifier) on a training subset, with the masks in
place, for `finetune_epochs` epochs after each pruning step.

A compressed classifier run OUT/<variant>/ holds config.json (the source run's config,
"kind": "classifier", plus a "compression" section) and the compressed
model.safetensors; load it with load_compressed_classifier().
"""
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from learned_codec.errors import UserError
from learned_codec.fileio import atomic_write_json, check_writable_dir
from learned_codec.model_compression.api import (
    apply_method,
    load_compressed_into,
    save_compressed,
    variant_name,
)
from learned_codec.model_compression.cie import cie_analysis, classification_metrics
from learned_codec.model_compression.storage import tensor_bytes
from learned_codec.models.checkpoint import (
    BEST_NAME,
    CONFIG_NAME,
    load_tensors,
    read_json,
)


def is_classifier_run(path):
    config = Path(path) / CONFIG_NAME
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("kind") == "classifier"
    except (ValueError, OSError, AttributeError):
        return False


def load_compressed_classifier(run_dir):
    """(model in eval mode, config) from a compress-model classifier variant folder."""
    from learned_codec.classify.model import build_classifier

    run_dir = Path(run_dir)
    config = read_json(run_dir / CONFIG_NAME)
    if not isinstance(config, dict) or "compression" not in config or "model" not in config:
        raise UserError(f"{run_dir} is not a compressed classifier run (no 'compression' in its config.json)")
    try:
        model, info, sha = load_compressed_into(build_classifier(config["model"]), run_dir / BEST_NAME)
    except (ValueError, RuntimeError) as e:
        raise UserError(f"{run_dir / BEST_NAME}: {str(e).splitlines()[0]}") from None
    model.weights_sha256 = sha
    return model, {**config, "weights_sha256": sha}


@torch.no_grad()
def classifier_latency(model, inputs, batch_size=256, repeats=10, warmup=2):
    """Median seconds for one forward pass over `batch_size` images (eval mode)."""
    x = inputs[:batch_size]
    model.eval()
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        model(x)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    median = float(np.median(times))
    return {"batch": int(len(x)), "threads": torch.get_num_threads(), "repeats": repeats,
            "median_s_per_batch": median, "ms_per_image": 1000 * median / len(x)}


def _measure(model, test_x, test_y, class_names):
    from learned_codec.classify.train import predict

    pred = predict(model, test_x, batch_size=512, device="cpu").numpy()
    return classification_metrics(test_y, pred, len(class_names), class_names)


def compress_classifier(source, variants, out_dir, *, test_size=None, finetune_size=5000, finetune_epochs=1,
                        steps=4, scope="layer", lr=1e-4, optimizer="adam", seed=0, boundary="recomputed",
                        latency_repeats=10, cifar_tarball=None, progress=True, log=print):
    """Run every variant on the classifier run at `source`; returns the report dict."""
    from learned_codec.classify.data import (
        load_classification_data,
        subset,
        to_model_input,
    )
    from learned_codec.classify.run import load_classifier_run
    from learned_codec.classify.train import train_classifier

    out_dir = check_writable_dir(out_dir)
    base, config = load_classifier_run(source)
    data = config["data"]
    dataset = data.get("dataset", "fashion-mnist")
    source_args = {"cifar_tarball": cifar_tarball} if dataset == "cifar10" else {}
    if dataset == "folder":
        raise UserError("compress-model takes classifiers trained on fashion-mnist or cifar10 "
                        "(a folder data set's path is not in its run config)")
    test_images, test_labels, class_names = load_classification_data(dataset, "test", **source_args)
    if test_size:
        test_images, test_labels = subset(test_images, test_labels, test_size, seed, 0)
    test_x = to_model_input(test_images, config)
    log(f"{config['model'].get('arch')} on {dataset}: {len(test_x)} test images")
    train = None
    if any(m == "prune" for m, _ in variants) and finetune_epochs > 0 and finetune_size:
        images, labels, _ = load_classification_data(dataset, "train", **source_args)
        sizes = config.get("train", {}).get("sizes", {})
        # the run's validation subset is the first val_size of its seeded permutation:
        # fine-tune on images after it (its training images), validate on it
        run_seed = int(config.get("train", {}).get("seed", 0))
        val_size = int(sizes.get("val", 2000))
        val_x, val_y = subset(images, labels, val_size, run_seed, 0)
        ft_x, ft_y = subset(images, labels, min(finetune_size, len(images) - val_size), run_seed, val_size)
        train = (to_model_input(ft_x, config), ft_y, to_model_input(val_x, config), val_y)

    base_metrics = _measure(base, test_x, test_labels, class_names)
    source_file = Path(source) / BEST_NAME
    base_tensors, _ = load_tensors(source_file)
    rows = [_classifier_row("original", {}, base_metrics, None, tensor_bytes(base_tensors),
                            source_file.stat().st_size, classifier_latency(base, test_x, repeats=latency_repeats))]
    details = {"original": base_metrics}
    bar = tqdm(variants, desc="variants", unit="model", disable=not progress, leave=False)
    for method, level in bar:
        name = variant_name(method, level)
        bar.set_postfix_str(name)
        model = copy.deepcopy(base)
        history = []

        def finetune(step, s, model=model, history=history):
            if train is None:
                return
            tx, ty, vx, vy = train
            h = train_classifier(model, tx, ty, vx, vy, epochs=finetune_epochs, lr=lr, optimizer=optimizer,
                                 seed=seed + step, device="cpu", progress=False, desc=f"{name} step {step + 1}")
            history.append(h[-1])
            log(f"  {name}: step {step + 1}/{steps} sparsity {s:.3f}, val acc {h[-1]['val_acc']:.4f}")

        info = apply_method(model, method, None, sparsity_level=level, steps=steps, scope=scope,
                            finetune=finetune)
        if method == "prune":
            info.update(finetune_epochs_per_step=finetune_epochs if train else 0,
                        finetune_images=0 if train is None else len(train[0]), finetune_lr=lr,
                        finetune_optimizer=optimizer, finetune_history=history)
        variant_dir = check_writable_dir(out_dir / name)
        run_config = {k: v for k, v in config.items() if k != "weights_sha256"}
        run_config["compression"] = {**info, "source": str(source),
                                     "source_weights_sha256": config["weights_sha256"]}
        sha, stored, _ = save_compressed(variant_dir / BEST_NAME, model, method, None,
                                         {"kind": "classifier", "model_config": config["model"]})
        atomic_write_json(variant_dir / CONFIG_NAME, {**run_config, "weights_sha256": sha})
        loaded, _ = load_compressed_classifier(variant_dir)
        metrics = _measure(loaded, test_x, test_labels, class_names)
        cie = cie_analysis(base_metrics, metrics, boundary=boundary)
        rows.append(_classifier_row(name, info, metrics, cie, tensor_bytes(stored),
                                    (variant_dir / BEST_NAME).stat().st_size,
                                    classifier_latency(loaded, test_x, repeats=latency_repeats)))
        details[name] = {**metrics, "cie": cie, "compression": {k: v for k, v in info.items()
                                                                 if k != "finetune_history"}}
        log(f"  {name}: top-1 {metrics['top1']:.4f}, impacted classes {cie['n_impacted_classes']}, "
            f"images {cie['impacted_images']}")
    for r in rows:
        r["size_ratio"] = rows[0]["weights_bytes"] / r["weights_bytes"]
        r["delta_top1"] = r["top1"] - rows[0]["top1"]
    return {"kind": "classifier", "source": str(source), "dataset": dataset, "arch": config["model"].get("arch"),
            "test_images": int(len(test_x)), "class_names": class_names, "boundary": boundary,
            "train_config": config.get("train"), "rows": rows, "details": details}


def _classifier_row(name, info, metrics, cie, weights_bytes, file_bytes, latency):
    return {
        "variant": name,
        "method": info.get("method", "none"),
        "requested_sparsity": info.get("requested_sparsity"),
        "reached_sparsity": info.get("reached_sparsity"),
        "top1": metrics["top1"],
        "micro_precision": metrics["micro_precision"],
        "micro_recall": metrics["micro_recall"],
        "micro_f1": metrics["micro_f1"],
        "impacted_classes": None if cie is None else cie["n_impacted_classes"],
        "impacted_class_names": None if cie is None else cie["impacted_class_names"],
        "impacted_images": None if cie is None else cie["impacted_images"],
        "impacted_images_exact": None if cie is None else cie["impacted_images_exact"],
        "class_accuracy_std": float(np.std(metrics["class_accuracy"])),
        "weights_bytes": int(weights_bytes),
        "model_file_bytes": int(file_bytes),
        "ms_per_image": latency["ms_per_image"],
        "latency": latency,
        "class_accuracy": metrics["class_accuracy"],
    }


__all__ = ["compress_classifier", "load_compressed_classifier", "is_classifier_run", "classifier_latency"]
