"""Video mode: temporal prediction of the quantized latent code.

Every frame goes through the same model and quantizer as in image mode, so it
decodes to exactly the image image mode gives. What changes is what is stored:
a key frame (every `gop` frames, and the first) stores its symbols; any other
frame stores (symbols - previous frame's symbols) mod 256, which is zero
wherever the scene did not change. On Pac-Man the maze is static and only the
sprites and pellets move, so most of the difference is zeros and the lossless
coder (zlib/LZMA) shrinks it far below the key frame's size. Prediction runs on
the decoded symbols, so encoder and decoder stay in lock step (no drift), and
a key frame lets a player start decoding there.
"""
import numpy as np

from .codec_api import Codec, check_frames
from .container import ContainerError, Meta, pack, unpack
from .quantizers import pack_symbols, unpack_symbols

DEFAULT_GOP = 30


def delta_symbols(symbols, gop):
    """N x S uint8 -> residuals: key frames unchanged, others minus the previous frame."""
    out = symbols.copy()
    for t in range(1, len(symbols)):
        if t % gop:
            out[t] = symbols[t] - symbols[t - 1]  # uint8 arithmetic wraps mod 256
    return out


def undelta_symbols(residuals, gop):
    out = residuals.copy()
    for t in range(1, len(residuals)):
        if t % gop:
            out[t] = residuals[t] + out[t - 1]
    return out


class LearnedVideoCodec(Codec):
    """A LearnedCodec whose frames are predicted from the previous one in latent space."""

    kind = "video"

    def __init__(self, image_codec, gop=DEFAULT_GOP):
        if gop < 1:
            raise ValueError(f"gop must be >= 1, got {gop}")
        if not hasattr(image_codec.quantizer, "symbols"):
            raise ValueError(f"video mode predicts uint8 codes; quantizer "
                             f"'{image_codec.quant}' has none (use naive, affine or kmeans)")
        self.image = image_codec
        self.gop = int(gop)
        self.name = f"{image_codec.name}-video"
        self.setting = f"{image_codec.setting} gop={gop}".strip()
        for attr in ("arch", "quant", "model_bytes", "code_entries"):
            setattr(self, attr, getattr(image_codec, attr, None))

    def encode(self, frames):
        frames = check_frames(frames)
        n, h, w, _ = frames.shape
        codes = self.image.encode_codes(frames)
        q = self.image.quantizer
        sym, sides, file_params = q.symbols(codes)
        residuals = delta_symbols(np.ascontiguousarray(sym, dtype=np.uint8), self.gop)
        payloads = [side + pack_symbols(r.tobytes()) for r, side in zip(residuals, sides)]
        meta = Meta(arch=self.image.arch, weights_sha256=self.image.weights_sha256, height=h,
                    width=w, frames=n, fps=self.image.fps, mode="latent-delta",
                    quantizer={"method": q.method, **q.params(), **file_params},
                    extra={"code_shape": list(codes.shape[1:]), "gop": self.gop})
        return pack(meta, payloads)

    def decode(self, data):
        meta, sections = unpack(data)
        if meta.mode != "latent-delta":
            raise ContainerError(f"not a latent-delta video file (mode {meta.mode!r})")
        gop = meta.extra.get("gop")
        if not isinstance(gop, int) or isinstance(gop, bool) or not 1 <= gop <= meta.frames:
            raise ContainerError(f"invalid key-frame interval {gop!r}")
        self.image.check_compatible(meta)
        code_shape = self.image.expected_code_shape(meta)
        if len(sections) != meta.frames:
            raise ContainerError(f"file declares {meta.frames} frames but holds {len(sections)}")
        q = self.image.quantizer
        count = q.symbol_count(code_shape)
        sides, residuals = [], []
        for p in sections:
            if len(p) < q.side_bytes + 1:
                raise ContainerError("video frame payload too short")
            sides.append(p[:q.side_bytes])
            residuals.append(np.frombuffer(unpack_symbols(p[q.side_bytes:], count), np.uint8))
        sym = undelta_symbols(np.stack(residuals), gop)
        codes = q.from_symbols(sym, sides, meta.quantizer, code_shape)
        return self.image.decode_codes(codes, meta.height, meta.width)
