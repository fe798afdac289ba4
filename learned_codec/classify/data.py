"""Classification data sets as uint8 arrays, and their conversion to model inputs.

    load_classification_data(name, split, ...) -> (uint8 N x H x W x C images, int64 N labels,
                                                   list of class names)
        "fashion-mnist"  Debian's dataset-fashion-mnist (28 x 28 x 1), the default
        "cifar10"        the user's cifar-10-python.tar.gz (32 x 32 x 3), cifar_tarball=PATH
        "folder"         a labelled image folder: ROOT/<class name>/*.png|jpg|...
                         (e.g. Pac-Man frames sorted by a labelled task), folder=PATH;
                         split "train"/"test" reads ROOT/train and ROOT/test when they exist
    to_model_input(images_uint8, config) -> float32 N x C x S x S, normalised

Normalisation is part of the run config ("data": {"mean": [...], "std": [...]} per channel,
in pixel units 0..255) and is computed by `channel_stats` on the images the model trains on;
the same numbers are then applied to every image the model sees (train, validation, test,
compressed or not). Images smaller than the model's image_size (Fashion-MNIST: 28 -> 32) are
zero-padded evenly on all sides in pixel space before normalising, so the padding is the
same black as Fashion-MNIST's background and the CNN keeps the reference 4 x 4 x 128 layout.
"""
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from learned_codec.errors import UserError

DATASETS = ("fashion-mnist", "cifar10", "folder")
SPLITS = ("train", "test")


def load_classification_data(name="fashion-mnist", split="train", *, cifar_tarball=None, folder=None,
                             fashion_mnist_root=None):
    """(uint8 N x H x W x C images, int64 N labels, class names) of one split of a data set."""
    if name not in DATASETS:
        raise UserError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; choose train or test")
    if name == "fashion-mnist":
        from data_tools.sources import FASHION_MNIST_CLASSES, load_fashion_mnist

        images, labels = load_fashion_mnist(split, root=fashion_mnist_root)
        return images[..., None], labels.astype(np.int64), list(FASHION_MNIST_CLASSES)
    if name == "cifar10":
        from data_tools.sources import load_cifar10

        if cifar_tarball is None:
            raise UserError("the cifar10 data set needs the path of cifar-10-python.tar.gz "
                            "(--cifar-tarball PATH); nothing is downloaded")
        images, labels, classes = load_cifar10(cifar_tarball, split)
        return images, labels.astype(np.int64), list(classes)
    return load_labelled_folder(folder, split)


def load_labelled_folder(folder, split="train"):
    """ROOT/<class>/*.png (or ROOT/<split>/<class>/*.png): images, labels, sorted class names."""
    from data_tools.sources import load_image_folder

    if folder is None:
        raise UserError("the folder data set needs --folder ROOT with one sub-folder of images per class")
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"labelled image folder {root} does not exist")
    if (root / split).is_dir():
        root = root / split
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise UserError(f"{root} needs at least two class sub-folders, found {len(classes)}")
    images, labels = [], []
    for index, name in enumerate(classes):
        x = load_image_folder(root / name)
        images.append(x)
        labels.append(np.full(len(x), index, np.int64))
    if len({x.shape[1:] for x in images}) != 1:
        raise UserError(f"images in {root} differ in size between classes; resize them to one size")
    return np.concatenate(images), np.concatenate(labels), classes


def subset(images, labels, count, seed=0, offset=0):
    """A class-stratified-by-shuffle subset: `count` images taken after `offset` in a seeded
    permutation (so train and validation subsets drawn with different offsets never overlap)."""
    n = len(images)
    if count is None:
        count = n - offset
    if count < 1 or offset + count > n:
        raise UserError(f"cannot take {count} images after the first {offset} of {n}")
    order = np.random.default_rng(seed).permutation(n)[offset:offset + count]
    return images[order], labels[order]


def channel_stats(images):
    """Per-channel mean and standard deviation (pixel units) of uint8 N x H x W x C images."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[0] == 0:
        raise UserError(f"expected a non-empty N x H x W x C image array, got shape {x.shape}")
    mean = x.mean(axis=(0, 1, 2))
    std = x.std(axis=(0, 1, 2))
    return [float(m) for m in mean], [float(max(s, 1e-3)) for s in std]


def data_config(name, class_names, images, image_size=None, normalize="train-stats"):
    """The "data" section of a run config for images like `images` (uint8 N x H x W x C).

    normalize="train-stats": z-score with the per-channel mean/std of `images`;
    normalize="none": raw 0..255 floats (what the notebook actually fed its CNN: its z_score
    function returned nothing, see results README)."""
    h, w, c = images.shape[1:]
    if h != w:
        raise UserError(f"images must be square for these classifiers, got {h} x {w}")
    if normalize == "train-stats":
        mean, std = channel_stats(images)
    elif normalize == "none":
        mean, std = [0.0] * c, [1.0] * c
    else:
        raise UserError(f"unknown normalisation {normalize!r}; choose train-stats or none")
    return {"dataset": name, "class_names": list(class_names), "channels": int(c), "input_size": int(h),
            "image_size": int(image_size or (32 if h == 28 else h)), "mean": mean, "std": std,
            "normalize": normalize}


def to_model_input(images, config, device="cpu"):
    """uint8 N x H x W x C (numpy or tensor) -> float32 N x C x S x S, padded and normalised.

    `config` is a run config (with a "data" section) or the data section itself.
    Extra leading dims are kept: N x B x H x W x C -> N x B x C x S x S (multi-quality input).
    """
    data = config.get("data", config) if isinstance(config, dict) else None
    if not isinstance(data, dict) or "mean" not in data or "std" not in data:
        raise UserError("config has no data section with mean/std for the model input")
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if x.dtype != torch.uint8:
        raise UserError(f"images must be uint8, got {x.dtype}")
    channels = len(data["mean"])
    if x.dim() < 4 or x.shape[-1] != channels:
        raise UserError(f"images must be ... x H x W x {channels}, got shape {tuple(x.shape)}")
    lead = x.shape[:-3]
    x = x.reshape(-1, *x.shape[-3:]).to(device).permute(0, 3, 1, 2).float()
    size = int(data.get("image_size", x.shape[-1]))
    h, w = x.shape[-2:]
    if h > size or w > size:
        raise UserError(f"images are {h} x {w}, larger than the model's {size} x {size}")
    if (h, w) != (size, size):
        top, left = (size - h) // 2, (size - w) // 2
        x = F.pad(x, (left, size - w - left, top, size - h - top))
    mean = torch.tensor(data["mean"], dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(data["std"], dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    x = (x - mean) / std
    return x.reshape(*lead, *x.shape[1:]).contiguous()


def source_options(args):
    """The loader options of --dataset (cifar10: the tarball, folder: its root) from parsed arguments."""
    opts = {}
    if getattr(args, "cifar_tarball", None):
        opts["cifar_tarball"] = args.cifar_tarball
    if getattr(args, "folder", None):
        opts["folder"] = args.folder
    if args.dataset == "cifar10" and "cifar_tarball" not in opts:
        raise UserError("--dataset cifar10 needs --cifar-tarball PATH (the standard cifar-10-python.tar.gz)")
    if args.dataset == "folder" and "folder" not in opts:
        raise UserError("--dataset folder needs --folder ROOT (one sub-folder of images per class)")
    return opts
