"""Plain PyTorch references of the native ops, used by the tests and benchmarks.

Written for clarity, not speed: each mirrors its op in learned_codec.ops.
"""
import math

import torch


def dct8_matrix(dtype=torch.float64, device="cpu"):
    """Orthonormal 8-point DCT-II basis C with C[k, n] = a(k) cos((2n+1) k pi / 16)."""
    k = torch.arange(8, dtype=torch.float64).unsqueeze(1)
    n = torch.arange(8, dtype=torch.float64).unsqueeze(0)
    C = torch.cos((2 * n + 1) * k * math.pi / 16)
    C[0] *= math.sqrt(1 / 8)
    C[1:] *= math.sqrt(2 / 8)
    return C.to(dtype=dtype, device=device)


def _blocks(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 8, 8, w // 8, 8)


def block_dct(x):
    """N x C x H x W (H, W multiples of 8) -> per-block DCT-II coefficients, same layout."""
    C = dct8_matrix(x.dtype, x.device)
    y = torch.einsum("kr,ncyrxs,ls->ncykxl", C, _blocks(x), C)
    return y.reshape(x.shape)


def block_idct(X):
    """Inverse of block_dct."""
    C = dct8_matrix(X.dtype, X.device)
    y = torch.einsum("rk,ncykxl,sl->ncyrxs", C, _blocks(X), C)
    return y.reshape(X.shape)


# ---- JPEG quantization ----------------------------------------------------

def _table_map(table, shape):
    """Broadcast an 8x8 (or C x 8 x 8) table over N x C x H x W by block position."""
    n, c, h, w = shape
    t = table.reshape(-1, 1, 8, 1, 8) if table.dim() == 3 else table.reshape(1, 1, 8, 1, 8)
    t = t.expand(t.shape[0], h // 8, 8, w // 8, 8).reshape(1, t.shape[0], h, w)
    return t.expand(n, c, h, w)


def round_half_away(v):
    """Round half away from zero, exactly (v - trunc(v) is exact in float)."""
    t = torch.trunc(v)
    f = v - t
    return t + (f >= 0.5).to(v.dtype) - (f <= -0.5).to(v.dtype)


def quantize(X, table):
    """int16(round_half_away(X / table)), saturated."""
    v = round_half_away(X / _table_map(table.float(), X.shape))
    return v.clamp(-32768, 32767).to(torch.int16)


def dequantize(q, table):
    return q.float() * _table_map(table.float(), q.shape)


# ---- latent quantizers ----------------------------------------------------

def latent_quantize_naive(z):
    return torch.round(z * 255).clamp(0, 255).to(torch.uint8)


def latent_quantize_affine(z, scale, zero_point):
    """scale / zero_point broadcast against z (e.g. per-tensor scalars)."""
    return (torch.round(z / scale) + zero_point).clamp(0, 255).to(torch.uint8)


def latent_dequantize_affine(codes, scale, zero_point):
    return (codes.float() - zero_point) * scale


# ---- k-means --------------------------------------------------------------

_MASK64 = (1 << 64) - 1


class SplitMix64:
    """The generator of csrc/kernels.h, so the reference draws the same numbers."""

    def __init__(self, seed):
        self.state = seed & _MASK64

    def uniform01(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z ^= z >> 31
        return (z >> 11) / 9007199254740992.0


def sq_distances(x, c):
    """n x k exact squared distances (x - c)^2 summed over d."""
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)


def kmeans_assign(x, c):
    return sq_distances(x, c).argmin(1).to(torch.uint8)


def kmeans_objective(x, c):
    """Mean squared distance of each point to its nearest centroid (float64)."""
    x, c = x.double(), c.double()
    return sq_distances(x, c).min(1).values.mean().item()


def kmeans_plus_plus(x, k, seed):
    """k-means++ seeding with one candidate per step, as the native kernels."""
    rng = SplitMix64(seed)
    n = x.shape[0]
    idx = min(n - 1, int(rng.uniform01() * n))
    centres = [x[idx]]
    d2 = None
    for _ in range(k - 1):
        e = ((x - centres[-1]) ** 2).sum(1)
        d2 = e if d2 is None else torch.minimum(d2, e)
        cum = torch.cumsum(d2.double(), 0)
        total = cum[-1].item()
        u = rng.uniform01()
        if total <= 0:
            idx = min(n - 1, int(u * n))
        else:
            hit = torch.nonzero(cum > u * total)
            idx = hit[0].item() if len(hit) else torch.nonzero(d2 > 0)[-1].item()
        centres.append(x[idx])
    return torch.stack(centres)


def kmeans_fit(x, k, iters=20, seed=0):
    """Lloyd's algorithm after kmeans_plus_plus; empty clusters keep their centroid."""
    c = kmeans_plus_plus(x, k, seed).clone()
    prev = None
    for it in range(iters):
        labels = kmeans_assign(x, c).long()
        if prev is not None and torch.equal(labels, prev):
            break
        sums = torch.zeros(k, x.shape[1], dtype=torch.float64).index_add_(0, labels, x.double())
        counts = torch.bincount(labels, minlength=k)
        nz = counts > 0
        c[nz] = (sums[nz] / counts[nz, None]).float()
        prev = labels
    return c
