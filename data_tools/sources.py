"""Loaders for the user's own data and the classification data sets; all return uint8 arrays.

    load_image_folder(path)              -> uint8 N x H x W x 3 (names with return_names=True)
    load_video_file(path, max_frames)    -> uint8 T x H x W x 3, frames per second
    load_fashion_mnist(split, root)      -> uint8 N x 28 x 28 images, uint8 N labels
    load_cifar10(tarball, split)         -> uint8 N x 32 x 32 x 3, uint8 N labels, class names

Every user mistake (missing path, empty folder, wrong file type, truncated or corrupt file)
raises learned_codec.errors.UserError with a one-line message.
"""
import gzip
import io
import pickle
import re
import subprocess
import tarfile
from pathlib import Path

import numpy as np

from learned_codec.errors import UserError
from learned_codec.ffmpeg import ffmpeg_exe

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


# ----------------------------------------------------------------------------- image folder
def load_image_folder(path, return_names=False):
    """All images of a folder (sorted by name), as uint8 N x H x W x 3 RGB.

    With return_names=True returns (images, file names in the same order).

    Every image must have the same height and width. PNG, JPEG, WebP and BMP are read;
    other files are ignored. Each is read by read_image_exact: converted to RGB only where
    that keeps every bit (8-bit grey, palette, opaque alpha, EXIF rotation), else refused.
    """

    folder = Path(path)
    if not folder.exists():
        raise UserError(f"image folder {folder} does not exist")
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of images")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"no images in {folder} (looked for {', '.join(IMAGE_SUFFIXES)})")
    images = []
    for f in files:
        images.append(read_image_exact(f))
        if images[-1].shape != images[0].shape:
            h0, w0 = images[0].shape[:2]
            h, w = images[-1].shape[:2]
            raise UserError(f"images differ in size: {files[0].name} is {h0}x{w0} (HxW) but "
                            f"{f.name} is {h}x{w}; resize them to one size first")
    stacked = np.stack(images)
    return (stacked, [f.name for f in files]) if return_names else stacked


SUPPORTED_IMAGES = ("8 bits per channel: RGB, grey, black-and-white or palette, alpha only when "
                    "fully opaque, one frame")


def read_image_exact(path):
    """One image file -> a writable uint8 H x W x 3 RGB array that holds every bit of it, or a
    UserError saying why not (what is supported: SUPPORTED_IMAGES).

    Converted exactly: 8-bit grey and black-and-white (the grey value in R, G and B), palette
    images (their colours), alpha that is 255 everywhere (dropped), EXIF orientation (the
    rotation / mirror applied, as a viewer shows the image). Refused, since RGB of 8 bits would
    lose something: 16- and 32-bit images (PNG I;16 grey, 48-bit RGB, 64-bit RGBA, float),
    any transparency, CMYK and other colour spaces, animated (multi-frame) files."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            n_frames = getattr(img, "n_frames", 1)
            if n_frames > 1:
                raise UserError(f"{path} is animated ({n_frames} frames): only single-frame images "
                                f"are read; split it into frames first or encode it as a video file")
            raw_modes = [str(t[3] if len(t) > 3 else "") for t in getattr(img, "tile", [])]
            if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F") or any(
                    ";16" in m or ";32" in m for m in raw_modes):
                raise UserError(f"{path} has more than 8 bits per channel (mode {img.mode}"
                                f"{', ' + raw_modes[0] if raw_modes else ''}): its bits would be lost; "
                                f"supported: {SUPPORTED_IMAGES}")
            img = ImageOps.exif_transpose(img)  # a copy with the orientation applied (exact)
            mode = img.mode
            if mode in ("RGB", "L", "1"):
                return np.array(img.convert("RGB"), dtype=np.uint8)
            if mode in ("P", "PA", "RGBA", "LA", "RGBa", "La"):
                if mode == "P" and "transparency" not in img.info:
                    return np.array(img.convert("RGB"), dtype=np.uint8)
                rgba = np.array(img.convert("RGBA"), dtype=np.uint8)
                if (rgba[..., 3] != 255).any():
                    raise UserError(f"{path} has transparent pixels (mode {mode}): the alpha channel "
                                    f"would be lost; supported: {SUPPORTED_IMAGES}")
                return np.ascontiguousarray(rgba[..., :3])
            raise UserError(f"{path} is a {mode} image: converting it to RGB would change its "
                            f"values; supported: {SUPPORTED_IMAGES}")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise UserError(f"{path} is not a readable image: {e}") from None


# ----------------------------------------------------------------------------- video file
def load_video_file(path, max_frames=None):
    """Decode a video with the ffmpeg binary of imageio-ffmpeg.

    Returns (uint8 T x H x W x 3 RGB frames, frames per second as float).
    """
    video = Path(path)
    if not video.is_file():
        raise UserError(f"video file {video} does not exist")
    if max_frames is not None and int(max_frames) < 1:
        raise UserError(f"max_frames must be at least 1, got {max_frames}")
    width, height, fps = probe_video(video)
    frame_bytes = width * height * 3
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(video), "-map", "0:v:0"]
    if max_frames is not None:
        cmd += ["-frames:v", str(int(max_frames))]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise UserError(f"cannot decode {video}: {last_line(proc.stderr)}")
    raw = proc.stdout
    count = len(raw) // frame_bytes
    if count == 0:
        raise UserError(f"{video} has no decodable video frames")
    frames = np.frombuffer(raw[: count * frame_bytes], np.uint8).reshape(count, height, width, 3)
    return frames.copy(), fps


def probe_video(video):
    """(width, height, fps) of the first video stream, read from ffmpeg's stream banner."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(video)],
                          capture_output=True, text=True, errors="replace")
    info = proc.stderr
    stream = next((ln for ln in info.splitlines() if re.search(r"Stream #.*Video:", ln)), None)
    if stream is None:
        reason = last_line(info.encode()) if "Invalid data" in info or "error" in info.lower() else ""
        raise UserError(f"{video} is not a video file (no video stream found{': ' + reason if reason else ''})")
    size = re.search(r"\b(\d{2,5})x(\d{2,5})\b", stream)
    if size is None:
        raise UserError(f"cannot read the frame size of {video}")
    rate = re.search(r"([\d.]+) (?:fps|tbr)", stream)
    return int(size.group(1)), int(size.group(2)), float(rate.group(1)) if rate else 0.0


def last_line(stderr_bytes):
    lines = [ln.strip() for ln in stderr_bytes.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "ffmpeg failed"


# ----------------------------------------------------------------------------- Fashion-MNIST
FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
IDX_UBYTE = 0x08


def load_fashion_mnist(split="train", root=None):
    """Fashion-MNIST from Debian's dataset-fashion-mnist (gzipped IDX files).

    Returns (uint8 N x 28 x 28 images, uint8 N labels in 0..9); N is 60000 or 10000.
    """
    if split not in FASHION_MNIST_FILES:
        raise UserError(f"unknown Fashion-MNIST split {split!r}; choose train or test")
    folder = Path(root) if root is not None else FASHION_MNIST_ROOT
    image_name, label_name = FASHION_MNIST_FILES[split]
    for name in (image_name, label_name):
        if not (folder / name).is_file():
            hint = " (install it with: apt-get install dataset-fashion-mnist)" if root is None else ""
            raise UserError(f"Fashion-MNIST file {folder / name} is missing{hint}")
    images = read_idx(folder / image_name, dims=3)
    labels = read_idx(folder / label_name, dims=1)
    if images.shape[0] != labels.shape[0]:
        raise UserError(f"{folder}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise UserError(f"{folder / label_name}: label {labels.max()} out of range 0..9")
    return images, labels


def read_idx(path, dims):
    """Parse a gzipped IDX file of unsigned bytes with `dims` dimensions (magic 0x0000 08 dd)."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise UserError(f"{path} is not a readable gzip file: {e}") from None
    header = 4 + 4 * dims
    if len(data) < header:
        raise UserError(f"{path} is too short for an IDX header")
    zero, dtype, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or dtype != IDX_UBYTE or ndim != dims:
        raise UserError(f"{path}: bad IDX magic {data[:4].hex()} "
                        f"(expected 000008{dims:02x}: unsigned bytes, {dims} dimensions)")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise UserError(f"{path}: header says {shape} = {expected} bytes of data, "
                        f"file has {len(data) - header} (truncated or corrupt)")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape).copy()


# ----------------------------------------------------------------------------- CIFAR-10
CIFAR_BATCHES = {
    "train": [f"data_batch_{i}" for i in range(1, 6)],
    "test": ["test_batch"],
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that builds only plain containers, never arbitrary objects.

    CIFAR-10's python batches are pickles of dicts of bytes/str keys, lists of ints/bytes/str
    and numpy uint8 arrays. Loading a pickle can run any code the file names, so this one
    allows only the few globals numpy needs to rebuild an ndarray; anything else is refused.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how protocol-2 pickles made by Python 3 store bytes
        ("codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def safe_unpickle(data):
    """Unpickle `data` (bytes) with SafeUnpickler; Python 2 strings decode as latin-1 bytes."""
    return SafeUnpickler(io.BytesIO(data), encoding="bytes").load()


def load_cifar10(tarball, split="train"):
    """CIFAR-10 from the standard cifar-10-python.tar.gz (never extracted to disk).

    Returns (uint8 N x 32 x 32 x 3 RGB images, uint8 N labels in 0..9, list of 10 class names).
    """
    if split not in CIFAR_BATCHES:
        raise UserError(f"unknown CIFAR-10 split {split!r}; choose train or test")
    path = Path(tarball)
    if not path.is_file():
        raise UserError(f"CIFAR-10 archive {path} does not exist "
                        f"(expected the standard cifar-10-python.tar.gz)")
    try:
        with tarfile.open(path, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            classes = read_class_names(tar, members, path)
            batches = [read_cifar_batch(tar, members, name, path) for name in CIFAR_BATCHES[split]]
    except (tarfile.TarError, EOFError, OSError, zlib_error()) as e:
        raise UserError(f"{path} is not a readable CIFAR-10 archive: {e}") from None
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    return images, labels, classes


def zlib_error():
    import zlib

    return zlib.error


# A CIFAR-10 python batch is 10,000 x 3,072 bytes + labels + pickle framing (~31 MB).
MAX_MEMBER_BYTES = 64 << 20
READ_CHUNK = 1 << 20


def read_member(tar, members, name, archive):
    if name not in members:
        raise UserError(f"{archive} has no {name}: is it the python version of CIFAR-10 "
                        f"(cifar-10-python.tar.gz)?")
    member = members[name]
    if member.size > MAX_MEMBER_BYTES:  # the tar header's size, checked before reading
        raise UserError(f"{archive}: {name} claims {member.size} bytes, more than a CIFAR-10 "
                        f"batch can be ({MAX_MEMBER_BYTES})")
    f = tar.extractfile(member)
    if f is None:
        raise UserError(f"{archive}: cannot read {name}")
    chunks, total = [], 0
    while True:  # bounded chunks: never more than the header's size (+1 to see a lie)
        chunk = f.read(min(READ_CHUNK, member.size + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > member.size:
            raise UserError(f"{archive}: {name} holds more bytes than its header's {member.size}")
    if total != member.size:
        raise UserError(f"{archive}: {name} is truncated ({total} of {member.size} bytes)")
    return b"".join(chunks)


def unpickle_member(tar, members, name, archive):
    data = read_member(tar, members, name, archive)
    try:
        obj = safe_unpickle(data)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError) as e:
        raise UserError(f"{archive}: {name} is not a valid CIFAR-10 batch: {e}") from None
    if not isinstance(obj, dict):
        raise UserError(f"{archive}: {name} holds {type(obj).__name__}, expected a dict")
    return {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_class_names(tar, members, archive):
    meta = unpickle_member(tar, members, "batches.meta", archive)
    names = meta.get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise UserError(f"{archive}: batches.meta has no list of 10 label_names")
    return [n.decode("latin-1") if isinstance(n, bytes) else str(n) for n in names]


def read_cifar_batch(tar, members, name, archive):
    """uint8 N x 32 x 32 x 3 and labels from one batch (stored as N x 3072, planes R, G, B)."""
    batch = unpickle_member(tar, members, name, archive)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise UserError(f"{archive}: {name} data is {got}, expected uint8 N x 3072")
    if not isinstance(labels, list) or len(labels) != data.shape[0]:
        raise UserError(f"{archive}: {name} has {data.shape[0]} images but labels do not match")
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise UserError(f"{archive}: {name} has labels outside 0..9")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.uint8)


# ----------------------------------------------------------------------------- exports
def write_png(path, image):
    """Write one uint8 H x W x 3 image as PNG atomically."""
    from PIL import Image

    from learned_codec.fileio import atomic_open

    with atomic_open(path, "wb") as f:
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(f, format="PNG")


__all__ = ["load_image_folder", "load_video_file", "load_fashion_mnist", "load_cifar10",
           "SafeUnpickler", "FASHION_MNIST_CLASSES", "write_png"]
