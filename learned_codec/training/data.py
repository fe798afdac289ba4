"""Training data: the frame splits (memory-mapped), per-epoch shuffles, batches."""
import math
import sys
from pathlib import Path

import numpy as np
import torch

from learned_codec.errors import UserError
from learned_codec.models import frames_to_tensor


def load_data(data_dir, allow_make, main):
    from data_tools import frames as frame_store

    if data_dir is None:
        data_dir = frame_store.DEFAULT_DIR
        if not (Path(data_dir) / "manifest.json").is_file() and not frame_store.split_path(data_dir, "train").is_file():
            if not allow_make:
                raise UserError(f"no data at {data_dir}: make it first with `learned-codec data pacman`")
            if main:
                print(f"no data at {data_dir}: making the built-in Pac-Man data set", file=sys.stderr)
                try:
                    from data_tools.pacman import make_dataset
                except ImportError as e:
                    raise UserError(f"cannot make the Pac-Man data set here ({e}); pass --data DIR") from None
                make_dataset(data_dir)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} does not exist")
    train = frame_store.load_split(data_dir, "train", mmap=True)
    val = frame_store.load_split(data_dir, "val", mmap=True)
    for name, arr in (("train", train), ("val", val)):
        if len(arr) == 0:
            raise UserError(f"data folder {data_dir} has no {name} frames")
    if train.shape[1:] != val.shape[1:]:
        raise UserError(f"train frames are {train.shape[1:3]} but val frames {val.shape[1:3]}")
    return data_dir, train, val


def epoch_indices(n_frames, epoch, seed, dist, frames_per_epoch):
    """This rank's frame indices for `epoch`: DistributedSampler's shuffle (seed + epoch),
    cut to this rank's share of `frames_per_epoch` (a fresh random subset each epoch)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n_frames), num_replicas=dist.world, rank=dist.rank,
                                 shuffle=True, seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    indices = list(sampler)
    if frames_per_epoch:
        indices = indices[: math.ceil(frames_per_epoch / dist.world)]
    return indices


def mean_image(frames, count=1024):
    """Mean of up to `count` evenly spaced frames, float 3 x H x W in [0, 1] (deterministic)."""
    idx = val_subset(len(frames), count)
    total = np.zeros(frames.shape[1:], np.float64)
    for start in range(0, len(idx), 128):
        total += frames[idx[start:start + 128]].sum(axis=0, dtype=np.float64)
    return torch.from_numpy(total / (255.0 * len(idx))).permute(2, 0, 1).float()


def val_subset(n_frames, count):
    """Evenly spaced indices (covers every video of the split), all frames if count is None."""
    from data_tools.frames import evenly_spaced

    return evenly_spaced(n_frames, count)


def batch_tensor(frames, indices, device):
    # Sorted reads from the memory map are faster; the order inside a batch does not
    # change the gradient (a mean), and BN statistics are order-free too.
    return frames_to_tensor(np.ascontiguousarray(frames[np.sort(indices)]), device)
