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

Entropy-coded models (quant "entropy", EntropyVideoCodec): a key frame is the image
mode's rANS payload; any other frame is coded both ways, as its own rANS payload and as
the change of its integer latent symbols from the previous frame's (int8 when every
change fits, else int16; then raw/zlib/LZMA as above), and the shorter is kept (one flag
byte says which). The
symbols, hence the decoded images, are the image mode's in either case; a frame is
never larger than in image mode, plus its flag byte.
"""
import numpy as np
import torch

from learned_codec.codecs.base import Codec, check_frames
from learned_codec.codecs.schema import check_budget
from learned_codec.container.format import ContainerError, Meta, pack, unpack
from learned_codec.quant.latent import pack_symbols, unpack_symbols

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


INTRA, INTER, INTER8 = 0, 1, 2  # entropy-delta frame flags: rANS / int16 change / int8 change


class _VideoCodec(Codec):
    """What both video modes share: the wrapped image codec, the key-frame interval,
    and reading a file of this mode (every header field checked before use)."""

    kind = "video"
    mode = "?"

    def __init__(self, image_codec, gop=DEFAULT_GOP):
        if gop < 1:
            raise ValueError(f"gop must be >= 1, got {gop}")
        self.image = image_codec
        self.gop = int(gop)
        self.name = f"{image_codec.name}-video"
        self.setting = f"{image_codec.setting} gop={gop}".strip()
        for attr in ("arch", "quant", "model_bytes", "code_entries"):
            setattr(self, attr, getattr(image_codec, attr, None))

    def _meta(self, h, w, n, quantizer, code_shape):
        return Meta(arch=self.image.arch, weights_sha256=self.image.weights_sha256, height=h,
                    width=w, frames=n, fps=self.image.fps, mode=self.mode, quantizer=quantizer,
                    extra={"code_shape": list(code_shape), "gop": self.gop})

    def _read(self, data):
        """-> (meta, sections, gop, code_shape) of a file of this mode."""
        meta, sections = unpack(data)
        if meta.mode != self.mode:
            raise ContainerError(f"not a {self.mode} video file (mode {meta.mode!r})")
        # gop may exceed the frame count (a file shorter than one group of pictures)
        gop = check_budget(meta, self.max_memory)["gop"]
        self.image.check_compatible(meta)
        code_shape = self.image.expected_code_shape(meta)
        if len(sections) != meta.frames:
            raise ContainerError(f"file declares {meta.frames} frames but holds {len(sections)}")
        return meta, sections, gop, code_shape


class LearnedVideoCodec(_VideoCodec):
    """A LearnedCodec whose frames are predicted from the previous one in latent space."""

    mode = "latent-delta"

    def __init__(self, image_codec, gop=DEFAULT_GOP):
        if not hasattr(image_codec.quantizer, "symbols"):
            raise ValueError(f"video mode predicts uint8 codes; quantizer "
                             f"'{image_codec.quant}' has none (use naive, affine or kmeans)")
        super().__init__(image_codec, gop)

    def encode(self, frames):
        frames = check_frames(frames)
        n, h, w, _ = frames.shape
        codes = self.image.encode_codes(frames)
        q = self.image.quantizer
        sym, sides, file_params = q.symbols(codes)
        residuals = delta_symbols(np.ascontiguousarray(sym, dtype=np.uint8), self.gop)
        payloads = [side + pack_symbols(r.tobytes()) for r, side in zip(residuals, sides)]
        meta = self._meta(h, w, n, {"method": q.method, **q.params(), **file_params}, codes.shape[1:])
        return pack(meta, payloads)

    def decode(self, data):
        meta, sections, gop, code_shape = self._read(data)
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


class EntropyVideoCodec(_VideoCodec):
    """An entropy-coded LearnedCodec whose non-key frames may code the change of their
    integer latent symbols instead of the symbols (see the module doc)."""

    mode = "entropy-delta"

    def __init__(self, image_codec, gop=DEFAULT_GOP):
        if image_codec.quant != "entropy":
            raise ValueError(f"entropy-delta video needs quantizer 'entropy', not '{image_codec.quant}'")
        super().__init__(image_codec, gop)

    def encode(self, frames):
        frames = check_frames(frames)
        n, h, w, _ = frames.shape
        intra, symbols = self.image.entropy_encode(frames)
        symbols = symbols.numpy().astype(np.int64)
        payloads = []
        for t, (intra_payload, sym) in enumerate(zip(intra, symbols)):
            best = bytes([INTRA]) + intra_payload
            if t % self.gop:
                change = sym - symbols[t - 1]
                largest = np.abs(change).max(initial=0)
                if largest < 1 << 7:  # int8 packs ~11 % smaller than int16 (benchmarks/latent_change.py)
                    best = min(best, bytes([INTER8]) + pack_symbols(change.astype("i1").tobytes()), key=len)
                elif largest < 1 << 15:
                    best = min(best, bytes([INTER]) + pack_symbols(change.astype("<i2").tobytes()), key=len)
            payloads.append(best)
        return pack(self._meta(h, w, n, {"method": "entropy"}, self.image.code_shape(h, w)), payloads)

    def decode(self, data):
        meta, sections, gop, code_shape = self._read(data)
        coder = self.image.quantizer
        count = int(np.prod(code_shape))
        symbols = []
        for t, p in enumerate(sections):
            if len(p) < 2 or p[0] not in (INTRA, INTER, INTER8):
                raise ContainerError(f"frame {t}: bad entropy-delta payload")
            if p[0] == INTRA:
                sym = coder.decode_symbols([p[1:]], code_shape)[0].cpu().numpy().astype(np.int64)
            else:
                if t % gop == 0:
                    raise ContainerError(f"frame {t} is a key frame but predicted from the previous one")
                dtype = "<i2" if p[0] == INTER else "i1"
                change = np.frombuffer(unpack_symbols(p[1:], np.dtype(dtype).itemsize * count), dtype)
                sym = symbols[t - 1] + change.reshape(code_shape)
                if np.abs(sym).max(initial=0) >= 1 << 31:
                    raise ContainerError(f"frame {t}: predicted symbols out of range")
            symbols.append(sym)
        return self.image.frames_from_symbols(torch.from_numpy(np.stack(symbols).astype(np.int32)),
                                              meta.height, meta.width)
