"""Compressed versions of a classification data set, with what they cost in bytes.

    CompressedSet(name, quality, images, bytes_per_image, kind)
        images: uint8 N x H x W x C, what a decoder shows; bytes_per_image: int64 N, the
        length of each image's own file (one standalone file per image, like the notebook).
    pillow_set(images, "jpeg"|"webp", quality)   real files through Pillow, decoded back
    simulated_jpeg_sets(images, qualities)       ops.jpeg_simulate, all qualities in one pass
    learned_set(images, codec)                   a learned codec (LearnedCodec), real .lcf bytes

Pillow settings are those of learned_codec.codecs.baselines (JPEG 4:4:4 with optimised Huffman
tables, WebP method 6). Grey images (C = 1, Fashion-MNIST) are coded as one-channel JPEG
(mode "L": 1 component in the file, as a grey JPEG really is stored); WebP has no grey mode,
so Pillow codes them as RGB and they are decoded back to grey. For grey input,
jpeg_simulate runs on the grey image replicated to RGB: with R = G = B the JFIF colour
conversion gives Y = grey and Cb = Cr = 128 exactly, so the decoded pixels equal those of
the one-channel JPEG (tests check this against Pillow); its bytes are the Pillow file sizes.
"""
import io
from dataclasses import dataclass

import numpy as np
import torch

from learned_codec.errors import UserError

PILLOW_CODECS = ("jpeg", "webp")


@dataclass
class CompressedSet:
    codec: str
    quality: object
    images: np.ndarray          # uint8 N x H x W x C
    bytes_per_image: np.ndarray  # int64 N

    @property
    def total_bytes(self):
        return int(self.bytes_per_image.sum())

    def summary(self, originals=None):
        n, h, w, c = self.images.shape
        out = {"codec": self.codec, "quality": self.quality, "images": int(n), "total_bytes": self.total_bytes,
               "bytes_per_image": self.total_bytes / max(n, 1), "bpp": 8.0 * self.total_bytes / max(n * h * w, 1)}
        if originals is not None:
            out["psnr_db"] = psnr_db(originals, self.images)
        return out


def check_quality(quality, codec="jpeg"):
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise UserError(f"{codec} quality must be an integer, got {quality!r}")
    low = 0 if codec == "webp" else 1
    if not low <= int(quality) <= 100:
        raise UserError(f"{codec} quality must be in {low}..100, got {quality}")
    return int(quality)


def _check_images(images):
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise UserError(f"images must be uint8 N x H x W x 1 or 3, got {images.dtype} {images.shape}")
    return np.ascontiguousarray(images)


def pillow_options(codec, quality):
    """(Pillow format, save options) of learned_codec.codecs.baselines for `codec` at `quality`."""
    from learned_codec.codecs import baselines as baselines

    if codec == "jpeg":
        c = baselines.jpeg(check_quality(quality, "jpeg"))
    elif codec == "webp":
        c = baselines.webp(check_quality(quality, "webp"))
    else:
        raise UserError(f"unknown image codec {codec!r}; choose one of {', '.join(PILLOW_CODECS)}")
    return c.pil_format, c.save_options


def encode_image(image, fmt, options):
    """bytes of one uint8 H x W x C image (C = 1: a grey file)."""
    from PIL import Image

    pil = Image.fromarray(image[..., 0], "L") if image.shape[-1] == 1 else Image.fromarray(image, "RGB")
    buf = io.BytesIO()
    pil.save(buf, format=fmt, **options)
    return buf.getvalue()


def decode_image(data, channels):
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        arr = np.asarray(im.convert("L" if channels == 1 else "RGB"))
    return arr[..., None] if channels == 1 else arr


def pillow_set(images, codec, quality, progress=False):
    """Each image coded as its own file by Pillow and decoded back: a CompressedSet."""
    from tqdm import tqdm

    images = _check_images(images)
    fmt, options = pillow_options(codec, quality)
    out = np.empty_like(images)
    sizes = np.empty(len(images), np.int64)
    for i in tqdm(range(len(images)), desc=f"{codec} q={quality}", disable=not progress, leave=False):
        data = encode_image(images[i], fmt, options)
        sizes[i] = len(data)
        out[i] = decode_image(data, images.shape[-1])
    return CompressedSet(codec, int(quality), out, sizes)


def pillow_sizes(images, codec, quality):
    """Only the file sizes (int64 N) of Pillow's encoding, without decoding."""
    images = _check_images(images)
    fmt, options = pillow_options(codec, quality)
    return np.array([len(encode_image(im, fmt, options)) for im in images], np.int64)


def simulate_jpeg(images, qualities, batch=4096):
    """ops.jpeg_simulate over uint8 N x H x W x C (C = 1 or 3) at several qualities.

    Returns {quality: uint8 N x H x W x C}. 4:4:4, like the Pillow JPEG sets."""
    from learned_codec import ops

    images = _check_images(images)
    qualities = [check_quality(q, "jpeg") for q in qualities]
    grey = images.shape[-1] == 1
    out = {q: np.empty_like(images) for q in qualities}
    for i in range(0, len(images), batch):
        chunk = torch.from_numpy(images[i:i + batch])
        rgb = chunk.expand(-1, -1, -1, 3).contiguous() if grey else chunk
        for q, y in zip(qualities, ops.jpeg_simulate(rgb, qualities, subsampling="444")):
            out[q][i:i + batch] = (y[..., :1] if grey else y).numpy()
    return out


def simulated_jpeg_sets(images, qualities, with_bytes=True):
    """{quality: CompressedSet} from jpeg_simulate; bytes are Pillow's file sizes at the same
    quality (the simulation gives the decoded pixels, not a file). with_bytes=False leaves
    the sizes at -1 (cheaper when only pixels are needed)."""
    decoded = simulate_jpeg(images, qualities)
    sets = {}
    for q, x in decoded.items():
        sizes = pillow_sizes(images, "jpeg", q) if with_bytes else np.full(len(images), -1, np.int64)
        sets[q] = CompressedSet("jpeg-sim", q, x, sizes)
    return sets


def learned_set(images, codec, chunk=500, progress=False):
    """Images through a learned codec (learned_codec.codecs.learned.LearnedCodec): real bytes.

    The set is coded as one container file per `chunk` images (the .lcf header, ~300 bytes
    with the weights' SHA-256, is paid once per file rather than once per 784-pixel image);
    each image is charged an equal share of its file, so total_bytes is exactly the sum of
    the file lengths. Grey images are replicated to RGB for the codec and decoded back to
    grey (mean of the decoded R, G, B)."""
    from tqdm import tqdm

    images = _check_images(images)
    grey = images.shape[-1] == 1
    rgb = np.repeat(images, 3, axis=-1) if grey else images
    out = np.empty_like(images)
    sizes = np.empty(len(images), np.int64)
    for i in tqdm(range(0, len(images), chunk), desc=f"learned {codec.setting}", disable=not progress, leave=False):
        part = rgb[i:i + chunk]
        data = codec.encode(part)
        share, extra = divmod(len(data), len(part))
        sizes[i:i + len(part)] = share
        sizes[i:i + extra] += 1
        dec = np.asarray(codec.decode(data))
        out[i:i + len(part)] = np.round(dec.astype(np.float32).mean(-1, keepdims=True)).astype(np.uint8) \
            if grey else dec
    return CompressedSet(getattr(codec, "name", "learned"), getattr(codec, "setting", ""), out, sizes)


def psnr_db(a, b):
    """PSNR (dB) of uint8 arrays over the whole set (one MSE), inf when identical."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
