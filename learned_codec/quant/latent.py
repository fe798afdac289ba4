"""Latent quantizers: one interface from a float code to bytes and back.

    q = make_quantizer("affine")
    payloads, file_params = q.encode(z)        # z: float32 N x ... (one code per frame)
    z_hat = q.decode(payloads, file_params, code_shape)

`payloads` holds one bytes object per frame (each frame decodable on its own);
`file_params` is a small JSON-able dict shared by all frames of a file (the
k-means codebook). Methods (SPEC "Latent quantization"):

    none    float32 code, as the reference stored it
    naive   code clamped to [0, 1], x 255, rounded to uint8 (as in training)
    affine  per-frame min/max scale with zero point to uint8
    kmeans  k-means codebook (k <= 256) over code entries, shared by the frames
            of a file and stored in it; uint8 labels per entry. d = 1 is the
            scalar variant, d > 1 groups d consecutive entries into one vector.

Underneath, every quantizer maps codes to *symbols* (uint8, N x S), per-frame
side information (bytes, e.g. the affine scale) and file parameters; the video
mode (codecs/video.py) predicts symbols from the previous frame's. The symbols are
then coded losslessly: raw, zlib or LZMA, whichever is shortest (one flag byte
says which), so a coded frame never exceeds raw + 1 byte.
"""
import abc
import struct

import numpy as np
import torch

from learned_codec import ops
from learned_codec.container.format import ContainerError
from learned_codec.quant.packing import pack_symbols, unpack_symbols

_F32x2 = struct.Struct("<ff")


def _entries(code_shape):
    return int(np.prod(code_shape))


class LatentQuantizer(abc.ABC):
    method = "?"
    side_bytes = 0  # per-frame side information before the symbols

    def params(self):
        """Constructor options stored in the file header (JSON-able)."""
        return {}

    def symbol_count(self, code_shape):
        return _entries(code_shape)

    @abc.abstractmethod
    def symbols(self, z):
        """z float32 N x ... -> (uint8 N x S symbols, list of N side bytes, file_params)."""

    @abc.abstractmethod
    def from_symbols(self, symbols, sides, file_params, code_shape):
        """Inverse of symbols: -> float32 N x *code_shape on the CPU."""

    def encode(self, z):
        sym, sides, file_params = self.symbols(z.detach().float().cpu().contiguous())
        return [side + pack_symbols(s.tobytes()) for s, side in zip(sym, sides)], file_params

    def decode(self, payloads, file_params, code_shape):
        n = self.symbol_count(code_shape)
        sym, sides = [], []
        for p in payloads:
            if len(p) < self.side_bytes + 1:
                raise ContainerError(f"{self.method} payload too short")
            sides.append(p[:self.side_bytes])
            sym.append(np.frombuffer(unpack_symbols(p[self.side_bytes:], n), np.uint8))
        return self.from_symbols(np.stack(sym), sides, file_params, code_shape)


class NoQuantizer(LatentQuantizer):
    """float32 codes; their bytes are the symbols."""

    method = "none"

    def symbol_count(self, code_shape):
        return 4 * _entries(code_shape)

    def symbols(self, z):
        raw = z.numpy().astype("<f4").reshape(len(z), -1).view(np.uint8)
        return raw, [b""] * len(z), {}

    def from_symbols(self, symbols, sides, file_params, code_shape):
        z = np.ascontiguousarray(symbols).view("<f4").astype(np.float32)
        z = torch.from_numpy(z).reshape(len(symbols), *code_shape)
        if not torch.isfinite(z).all():
            raise ContainerError("float code holds NaN or infinite values")
        return z


class NaiveQuantizer(LatentQuantizer):
    method = "naive"

    def symbols(self, z):
        # Clamped to [0, 1] first, exactly as the training quantizer does
        # (quant/training.naive_dequantized), so the file holds what the decoder learned.
        codes, _ = ops.latent_quantize(z.clamp(0, 1), method="naive")
        return codes.reshape(len(z), -1).numpy(), [b""] * len(z), {}

    def from_symbols(self, symbols, sides, file_params, code_shape):
        codes = torch.from_numpy(np.ascontiguousarray(symbols)).reshape(len(symbols), *code_shape)
        return ops.latent_dequantize(codes, {"method": "naive", "axis": None})


class AffineQuantizer(LatentQuantizer):
    """Per-frame min/max affine map to uint8; (scale, zero point) are the side bytes."""

    method = "affine"
    side_bytes = _F32x2.size

    def symbols(self, z):
        sym, sides = [], []
        for f in z:
            codes, p = ops.latent_quantize(f, method="affine")
            sym.append(codes.reshape(-1).numpy())
            sides.append(_F32x2.pack(float(p["scale"]), float(p["zero_point"])))
        return np.stack(sym), sides, {}

    def from_symbols(self, symbols, sides, file_params, code_shape):
        out = []
        for s, side in zip(symbols, sides):
            scale, zero = _F32x2.unpack(side)
            if not (np.isfinite(scale) and np.isfinite(zero)) or scale < 0:
                raise ContainerError("affine payload holds an invalid scale / zero point")
            params = {"method": "affine", "axis": None,
                      "scale": torch.tensor([scale], dtype=torch.float32),
                      "zero_point": torch.tensor([zero], dtype=torch.float32)}
            codes = torch.from_numpy(np.ascontiguousarray(s)).reshape(code_shape)
            out.append(ops.latent_dequantize(codes, params))
        return torch.stack(out).float()


class KMeansQuantizer(LatentQuantizer):
    """k-means codebook over code entries (d consecutive entries per vector)."""

    method = "kmeans"

    def __init__(self, k=256, dim=1, iters=20, seed=0):
        if not 1 <= k <= 256:
            raise ValueError(f"k must be in [1, 256], got {k}")
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.k, self.dim, self.iters, self.seed = int(k), int(dim), int(iters), int(seed)

    def params(self):
        return {"k": self.k, "dim": self.dim, "iters": self.iters, "seed": self.seed}

    def symbol_count(self, code_shape):
        n = _entries(code_shape)
        if n % self.dim:
            raise ContainerError(f"code size {n} is not a multiple of dim={self.dim}")
        return n // self.dim

    def symbols(self, z):
        flat = z.reshape(len(z), -1)
        if flat.shape[1] % self.dim:
            raise ValueError(f"code size {flat.shape[1]} is not a multiple of dim={self.dim}")
        x = flat.reshape(-1, self.dim).contiguous()
        k = min(self.k, x.shape[0])
        centroids = ops.kmeans_fit(x, k, iters=self.iters, seed=self.seed)
        labels = ops.kmeans_assign(x, centroids).reshape(len(z), -1).numpy()
        book = centroids.numpy().astype("<f4").tobytes().hex()
        return labels, [b""] * len(z), {"codebook": book, "k": k, "dim": self.dim}

    def from_symbols(self, symbols, sides, file_params, code_shape):
        try:
            k, dim = int(file_params["k"]), int(file_params["dim"])
            book = bytes.fromhex(file_params["codebook"])
        except (KeyError, TypeError, ValueError):
            raise ContainerError("k-means parameters missing or malformed") from None
        if not (1 <= k <= 256 and dim == self.dim and len(book) == 4 * k * dim):
            raise ContainerError("k-means codebook does not match the code shape")
        if symbols.size and symbols.max() >= k:
            raise ContainerError("k-means label outside the codebook")
        centroids = torch.from_numpy(np.frombuffer(book, "<f4").astype(np.float32).reshape(k, dim))
        labels = torch.from_numpy(symbols.astype(np.int64))
        return centroids[labels].reshape(len(symbols), *code_shape)


QUANTIZERS = {q.method: q for q in (NoQuantizer, NaiveQuantizer, AffineQuantizer, KMeansQuantizer)}


def make_quantizer(method, **params):
    if method not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {method!r}; choose one of {', '.join(QUANTIZERS)}")
    return QUANTIZERS[method](**params)
