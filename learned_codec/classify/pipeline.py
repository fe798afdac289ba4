"""Shared steps of every classify experiment: data splits, one training + test, a run config.

    Splits              train / validation subsets of the data set's train split (disjoint,
                        drawn from one seeded permutation) and a test subset of its test split
    load_splits(...)    -> Splits
    fit_and_test(...)   train one classifier on uint8 train images, validate and test on the
                        given uint8 images; -> (model, run config, metrics)
"""
from dataclasses import dataclass, field

import numpy as np
import torch

from learned_codec.classify.data import (
    data_config,
    load_classification_data,
    subset,
    to_model_input,
)
from learned_codec.classify.model import build_classifier, default_model_config
from learned_codec.classify.train import (
    per_class_accuracy,
    predict,
    resolve_device,
    train_classifier,
)
from learned_codec.errors import UserError


@dataclass
class Splits:
    dataset: str
    class_names: list
    train_x: np.ndarray  # uint8 N x H x W x C
    train_y: np.ndarray  # int64 N
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    sizes: dict = field(default_factory=dict)


def load_splits(dataset="fashion-mnist", train_size=None, val_size=2000, test_size=None, seed=0, **source):
    """Train/validation subsets of the train split and a test subset of the test split.

    train_size None: everything after the validation images. test_size None: whole test split."""
    images, labels, classes = load_classification_data(dataset, "train", **source)
    if val_size < 1:
        raise UserError(f"validation size must be at least 1, got {val_size}")
    if val_size >= len(images):
        raise UserError(f"validation size {val_size} leaves no training images out of {len(images)}")
    if train_size is not None and train_size < 1:
        raise UserError(f"training size must be at least 1, got {train_size}")
    if train_size is not None and train_size + val_size > len(images):
        raise UserError(f"--train-size {train_size} + --val-size {val_size} exceed the {len(images)} "
                        f"training images of {dataset}")
    val_x, val_y = subset(images, labels, val_size, seed, 0)
    train_x, train_y = subset(images, labels, train_size, seed, val_size)
    test_images, test_labels, _ = load_classification_data(dataset, "test", **source)
    if test_size is not None and not 1 <= test_size <= len(test_images):
        raise UserError(f"test size must be in 1..{len(test_images)}, got {test_size}")
    test_x, test_y = subset(test_images, test_labels, test_size, seed, 0) if test_size else (test_images, test_labels)
    return Splits(dataset, classes, train_x, train_y, val_x, val_y, test_x, test_y,
                  {"train": len(train_x), "val": len(val_x), "test": len(test_x)})


def train_options(args_like):
    """The training hyper-parameters from an argparse namespace or dict, with their defaults."""
    get = (lambda k, d: args_like.get(k, d)) if isinstance(args_like, dict) else \
        (lambda k, d: getattr(args_like, k, d))
    return {"epochs": int(get("epochs", 5)), "batch_size": int(get("batch_size", 64)), "lr": float(get("lr", 1e-3)),
            "optimizer": get("optimizer", "rmsprop"), "lr_decay": float(get("lr_decay", 0.0)),
            "augment": bool(get("augment", False)), "seed": int(get("seed", 0))}


def model_options(args_like):
    """Model options set on the command line (only those that apply to the arch)."""
    get = (lambda k: args_like.get(k)) if isinstance(args_like, dict) else (lambda k: getattr(args_like, k, None))
    arch = get("arch") or "notebook-cnn"
    if arch == "notebook-cnn" and get("bn_momentum") is not None:
        return {"bn_momentum": float(get("bn_momentum"))}
    return {}


def fit_and_test(splits, train_x, val_x, test_x, *, arch="notebook-cnn", model_options=None, train=None,
                 normalize="train-stats", target_accuracy=None, stop_at_target=False, device=None,
                 progress=True, desc="train"):
    """Train a fresh classifier on uint8 `train_x` (labels splits.train_y), validate on `val_x`,
    test on `test_x` (labels splits.val_y / test_y). Normalisation statistics come from train_x.

    Returns (model, run config, metrics) where metrics holds history, test accuracy,
    per-class test accuracy, predictions count per class and time to target accuracy."""
    train = train or train_options({})
    data = data_config(splits.dataset, splits.class_names, train_x, normalize=normalize)
    model_config = {**default_model_config(arch, data["channels"], data["image_size"], len(splits.class_names)),
                    **(model_options or {})}
    device = resolve_device(device)
    # Seed the initial weights too: every run of an experiment then starts from the same
    # weights and sees the same batch order, so runs differ only by their data (a paired
    # comparison; at small budgets the spread between initialisations is several points).
    torch.manual_seed(train["seed"])
    model = build_classifier(model_config)
    config = {"model": model_config, "data": data, "train": {**train, "sizes": dict(splits.sizes)}}
    tx = to_model_input(train_x, data)
    vx = to_model_input(val_x, data)
    history = train_classifier(model, tx, splits.train_y, vx, splits.val_y, target_accuracy=target_accuracy,
                               stop_at_target=stop_at_target, device=device, progress=progress, desc=desc,
                               **{k: train[k] for k in ("epochs", "batch_size", "lr", "optimizer", "lr_decay",
                                                        "augment", "seed")})
    test_pred = predict(model, to_model_input(test_x, data)).numpy()
    n_classes = len(splits.class_names)
    metrics = {
        "history": history,
        "val_acc": history[-1]["val_acc"],
        "test_acc": float((test_pred == splits.test_y).mean()),
        "per_class_test_acc": per_class_accuracy(splits.test_y, test_pred, n_classes),
        "predicted_class_counts": np.bincount(test_pred, minlength=n_classes).tolist(),
        "train_time_s": history[-1]["train_time_s"],
        "epochs_run": len(history),
    }
    if target_accuracy is not None:
        from learned_codec.classify.train import time_to_accuracy

        metrics["target_accuracy"] = target_accuracy
        metrics["tta_s"] = time_to_accuracy(history, target_accuracy)
    return model, config, metrics
