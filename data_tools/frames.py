"""On-disk layout of a frame data set (the built-in Pac-Man set uses it).

    DIR/manifest.json            counts, splits, diversity, seed (see pacman.py)
    DIR/images/<split>.npy       uint8 N x H x W x 3, the image data set
                                 (every 10th frame), split by video
    DIR/videos/video_XXX.npz     uint8 T x H x W x 3 under key "frames": every
                                 frame of one episode, losslessly compressed

Images are plain .npy so that they load at disk speed (or memory-mapped).
"""
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from learned_codec.errors import UserError
from learned_codec.fileio import atomic_open, atomic_write_json

FRAME_H, FRAME_W = 200, 160
SPLITS = ("train", "val", "test")
DEFAULT_DIR = Path("data") / "pacman"


def split_path(root, split):
    return Path(root) / "images" / f"{split}.npy"


def video_path(root, index):
    return Path(root) / "videos" / f"video_{index:03d}.npz"


def save_split(root, split, frames):
    """Write one split's frames (uint8 N x H x W x 3) atomically."""
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    with atomic_open(split_path(root, split), "wb") as f:
        np.save(f, frames, allow_pickle=False)


def load_split(root, split, mmap=False):
    """uint8 N x H x W x 3 frames of one split; clear UserError if missing or malformed."""
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    path = split_path(root, split)
    if not path.is_file():
        raise UserError(
            f"no {split} frames at {path}: make the data set first "
            f"(learned-codec data pacman --out {root})"
        )
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise UserError(f"{path} is not a readable frame array: {e}") from None
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise UserError(f"{path} holds {arr.dtype} {arr.shape}, expected uint8 N x H x W x 3")
    return arr


def save_npz(path, arrays):
    """Write named arrays as a deflated .npz atomically; byte-identical for equal input
    (np.savez stamps each entry with the current time)."""
    with atomic_open(path, "wb") as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            for name, arr in arrays.items():
                buf = io.BytesIO()
                np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, buf.getvalue())


def save_video(root, index, frames):
    """Write one episode's frames losslessly (deflate); byte-identical for equal input."""
    save_npz(video_path(root, index), {"frames": np.ascontiguousarray(frames, dtype=np.uint8)})


def load_video(root, index):
    path = video_path(root, index)
    if not path.is_file():
        raise UserError(f"no video {index} at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arr = z["frames"]
    except (ValueError, OSError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise UserError(f"{path} is not a readable video: {e}") from None
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise UserError(f"{path} holds {arr.dtype} {arr.shape}, expected uint8 T x H x W x 3")
    return arr


def load_manifest(root):
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise UserError(f"{root} is not a frame data set (no manifest.json); "
                        f"make one with: learned-codec data pacman --out {root}")
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None


def save_manifest(root, manifest):
    atomic_write_json(Path(root) / "manifest.json", manifest)


def evenly_spaced(n_total, count):
    """Indices of `count` frames evenly spaced over n_total (covers every video of a split);
    all of them when count is None or >= n_total."""
    import numpy as np

    if not count or count >= n_total:
        return np.arange(n_total)
    return np.unique(np.linspace(0, n_total - 1, count).round().astype(np.int64))


def subsample(frames, n):
    """n frames evenly spaced over the sequence (all of them if n >= len)."""
    if n is None or n >= len(frames):
        return frames
    if n < 1:
        raise UserError("--frames must be at least 1")
    return frames[evenly_spaced(len(frames), n)]
