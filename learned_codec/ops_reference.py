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
