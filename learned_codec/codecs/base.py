"""The one interface every codec implements, learned or classic.

A codec turns frames (uint8 numpy arrays N x H x W x 3, RGB) into bytes and back:

    codec.name       short family name, e.g. "jpeg", "avif", "h264", "conv4-kmeans"
    codec.setting    the operating point within the family, e.g. "q=75", "crf=28"
    codec.kind       "image" (each frame coded on its own) or "video" (one file for the sequence)
    codec.lossless   True when decode(encode(x)) == x exactly
    codec.is_baseline  True for classic codecs (the anchors of BD-rates), False otherwise
    codec.encode(frames) -> bytes
    codec.decode(data: bytes) -> frames

Image codecs (subclass ImageCodec) implement encode_frame / decode_frame; a frame's
size is the length of its own file, exactly what a folder of such files costs on disk.
`encode` of several frames packs the per-frame files behind a small length table so
that one call still returns one bytes object; the evaluation harness measures image
codecs through encode_frame, so that table (4 bytes + 4 per frame) is never counted.

Video codecs (subclass VideoCodec, or any Codec with kind == "video") code the whole
sequence as one file; the harness divides its length by the frame count.

Optional attributes the harness reports when a codec has them (learned codecs):
    model_bytes      size of the weights a decoder needs (int)
    arch, quant      model family and latent quantizer names (reference table rows)
    code_entries     number of entries in the code of one frame (the reference
                     report's "compression ratio = entries x 4 / 96,000")
"""
import abc
import struct

import numpy as np

from learned_codec.errors import CodecUnavailable  # noqa: E402,F401  (part of the codec interface)


def check_frames(frames):
    """Return frames as a contiguous uint8 N x H x W x 3 array, or raise ValueError."""
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 N x H x W x 3, got {frames.dtype} {frames.shape}")
    if frames.shape[0] == 0:
        raise ValueError("no frames to code")
    return np.ascontiguousarray(frames)


class Codec(abc.ABC):
    """Base class: see the module docstring for the contract."""

    name = "codec"
    setting = ""
    kind = "image"
    lossless = False
    is_baseline = False  # classic reference codecs set True: BD-rates use them as anchors
    container = ""       # what the counted bytes are, e.g. "raw Annex-B .264"
    progress = None      # optional callable(n): told of every n frames encoded or decoded
    max_memory = None    # decode budget in bytes (codecs/schema.py); None: the default

    def report_progress(self, n):
        if self.progress is not None:
            self.progress(n)

    @abc.abstractmethod
    def encode(self, frames) -> bytes:
        """Code uint8 N x H x W x 3 frames into one bytes object."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Restore uint8 N x H x W x 3 frames from the bytes of `encode`."""

    def check_available(self):
        """Raise CodecUnavailable(reason) if this codec cannot run on this machine."""

    @property
    def label(self):
        return f"{self.name} {self.setting}".strip()

    def __repr__(self):
        return f"<{type(self).__name__} {self.label}>"


_COUNT = struct.Struct("<I")


class ImageCodec(Codec):
    """A codec that codes every frame independently; subclasses implement the *_frame pair."""

    kind = "image"

    @abc.abstractmethod
    def encode_frame(self, frame) -> bytes:
        """Code one uint8 H x W x 3 frame into the bytes of one standalone file."""

    @abc.abstractmethod
    def decode_frame(self, data: bytes) -> np.ndarray:
        """Restore one uint8 H x W x 3 frame from the bytes of encode_frame."""

    def encode(self, frames):
        files = [self.encode_frame(f) for f in check_frames(frames)]
        table = _COUNT.pack(len(files)) + b"".join(_COUNT.pack(len(f)) for f in files)
        return table + b"".join(files)

    def decode(self, data):
        data = memoryview(data)
        (count,) = _COUNT.unpack_from(data, 0)
        lengths = [_COUNT.unpack_from(data, 4 + 4 * i)[0] for i in range(count)]
        pos = 4 + 4 * count
        if pos + sum(lengths) != len(data):
            raise ValueError("image sequence is truncated or has trailing bytes")
        frames = []
        for n in lengths:
            frames.append(self.decode_frame(bytes(data[pos:pos + n])))
            pos += n
        return np.stack(frames)


class VideoCodec(Codec):
    """A codec that codes the whole sequence as one file (may predict between frames)."""

    kind = "video"
