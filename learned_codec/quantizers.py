"""Latent quantizers: one interface from a float code to bytes and back.

    q = make_quantizer("affine")
    payloads, file_params = q.encode(z)        # z: float32 N x ... (one code per frame)
    z_hat = q.decode(payloads, file_params, code_shape)

`payloads` holds one bytes object per frame (each frame decodable on its own);
`file_params` is a small JSON-able dict shared by all frames of a file (the
k-means codebook). Methods (SPEC "Latent quantization"):

    none    float32 code, as the reference stored it
    naive   code x 255 rounded to uint8 (codes must lie in [0, 1])
    affine  per-frame min/max scale with zero point to uint8
    kmeans  k-means codebook (k <= 256) over code entries, shared by the frames
            of a file and stored in it; uint8 labels per entry. d = 1 is the
            scalar variant, d > 1 groups d consecutive entries into one vector.

Integer codes are then coded losslessly: each frame's bytes are stored raw,
zlib- or LZMA-compressed, whichever is shortest (one flag byte says which), so
a coded frame is never larger than raw + 1 byte. `raw_bytes` of the result
tells what the codes cost before that step.
"""
import abc
import lzma
import struct
import zlib

import numpy as np
import torch

from . import ops
from .container import ContainerError

_RAW, _ZLIB, _LZMA = 0, 1, 2
_F32x2 = struct.Struct("<ff")


def pack_symbols(raw):
    """Shortest of raw / zlib / LZMA, behind a one-byte flag."""
    candidates = [(_RAW, raw), (_ZLIB, zlib.compress(raw, 9)),
                  (_LZMA, lzma.compress(raw, format=lzma.FORMAT_RAW,
                                        filters=[{"id": lzma.FILTER_LZMA2, "preset": 9}]))]
    flag, best = min(candidates, key=lambda c: (len(c[1]), c[0]))
    return bytes([flag]) + best


def unpack_symbols(data, expected_len):
    """Inverse of pack_symbols; output length is checked, never trusted from the data."""
    if len(data) < 1:
        raise ContainerError("empty code payload")
    flag, body = data[0], data[1:]
    try:
        if flag == _RAW:
            raw = body
        elif flag == _ZLIB:
            d = zlib.decompressobj()
            raw = d.decompress(body, expected_len + 1)
        elif flag == _LZMA:
            d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2}])
            raw = d.decompress(body, max_length=expected_len + 1)
        else:
            raise ContainerError(f"unknown code payload coding {flag}")
    except (zlib.error, lzma.LZMAError) as e:
        raise ContainerError(f"code payload does not decompress: {e}") from None
    if len(raw) != expected_len:
        raise ContainerError(f"code payload has {len(raw)} bytes, expected {expected_len}")
    return bytes(raw)


class LatentQuantizer(abc.ABC):
    method = "?"

    def params(self):
        """Constructor options stored in the file header (JSON-able)."""
        return {}

    @abc.abstractmethod
    def encode(self, z):
        """z: float32 tensor N x ... -> (list of N payload bytes, file_params dict)."""

    @abc.abstractmethod
    def decode(self, payloads, file_params, code_shape):
        """-> float32 tensor N x *code_shape on the CPU."""


def _entries(code_shape):
    return int(np.prod(code_shape))


class NoQuantizer(LatentQuantizer):
    method = "none"

    def encode(self, z):
        z = z.detach().float().cpu().contiguous()
        return [pack_symbols(f.numpy().astype("<f4").tobytes()) for f in z], {}

    def decode(self, payloads, file_params, code_shape):
        n = _entries(code_shape)
        out = [np.frombuffer(unpack_symbols(p, 4 * n), dtype="<f4") for p in payloads]
        z = torch.from_numpy(np.stack(out).astype(np.float32)).reshape(len(payloads), *code_shape)
        if not torch.isfinite(z).all():
            raise ContainerError("float code holds NaN or infinite values")
        return z


class NaiveQuantizer(LatentQuantizer):
    method = "naive"

    def encode(self, z):
        codes, _ = ops.latent_quantize(z.detach().float().cpu().contiguous(), method="naive")
        return [pack_symbols(c.numpy().tobytes()) for c in codes], {}

    def decode(self, payloads, file_params, code_shape):
        n = _entries(code_shape)
        codes = np.stack([np.frombuffer(unpack_symbols(p, n), np.uint8) for p in payloads])
        codes = torch.from_numpy(codes).reshape(len(payloads), *code_shape)
        return ops.latent_dequantize(codes, {"method": "naive", "axis": None})


class AffineQuantizer(LatentQuantizer):
    """Per-frame min/max affine map to uint8; (scale, zero point) stored per frame."""

    method = "affine"

    def encode(self, z):
        z = z.detach().float().cpu().contiguous()
        payloads = []
        for f in z:
            codes, p = ops.latent_quantize(f, method="affine")
            head = _F32x2.pack(float(p["scale"]), float(p["zero_point"]))
            payloads.append(head + pack_symbols(codes.numpy().tobytes()))
        return payloads, {}

    def decode(self, payloads, file_params, code_shape):
        n = _entries(code_shape)
        out = []
        for p in payloads:
            if len(p) < _F32x2.size:
                raise ContainerError("affine payload too short")
            scale, zero = _F32x2.unpack_from(p)
            if not (np.isfinite(scale) and np.isfinite(zero)) or scale < 0:
                raise ContainerError("affine payload holds invalid scale / zero point")
            codes = np.frombuffer(unpack_symbols(p[_F32x2.size:], n), np.uint8)
            codes = torch.from_numpy(codes.copy()).reshape(code_shape)
            params = {"method": "affine", "axis": None,
                      "scale": torch.tensor([scale], dtype=torch.float32),
                      "zero_point": torch.tensor([zero], dtype=torch.float32)}
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

    def _vectors(self, z):
        flat = z.reshape(z.shape[0], -1)
        if flat.shape[1] % self.dim:
            raise ValueError(f"code size {flat.shape[1]} is not a multiple of dim={self.dim}")
        return flat.reshape(-1, self.dim)

    def encode(self, z):
        z = z.detach().float().cpu().contiguous()
        x = self._vectors(z).contiguous()
        k = min(self.k, x.shape[0])
        centroids = ops.kmeans_fit(x, k, iters=self.iters, seed=self.seed)
        labels = ops.kmeans_assign(x, centroids).reshape(z.shape[0], -1)
        payloads = [pack_symbols(lab.numpy().tobytes()) for lab in labels]
        book = centroids.numpy().astype("<f4").tobytes().hex()
        return payloads, {"codebook": book, "k": k, "dim": self.dim}

    def decode(self, payloads, file_params, code_shape):
        try:
            k, dim = int(file_params["k"]), int(file_params["dim"])
            book = bytes.fromhex(file_params["codebook"])
        except (KeyError, TypeError, ValueError):
            raise ContainerError("k-means parameters missing or malformed") from None
        n = _entries(code_shape)
        if not (1 <= k <= 256 and dim >= 1 and n % dim == 0 and len(book) == 4 * k * dim):
            raise ContainerError("k-means codebook does not match the code shape")
        centroids = torch.from_numpy(np.frombuffer(book, "<f4").astype(np.float32).reshape(k, dim))
        out = []
        for p in payloads:
            labels = np.frombuffer(unpack_symbols(p, n // dim), np.uint8)
            if labels.size and labels.max() >= k:
                raise ContainerError("k-means label outside the codebook")
            out.append(centroids[torch.from_numpy(labels.astype(np.int64))].reshape(code_shape))
        return torch.stack(out)


QUANTIZERS = {q.method: q for q in (NoQuantizer, NaiveQuantizer, AffineQuantizer, KMeansQuantizer)}


def make_quantizer(method, **params):
    if method not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {method!r}; choose one of {', '.join(QUANTIZERS)}")
    return QUANTIZERS[method](**params)
