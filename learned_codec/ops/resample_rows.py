"""Vertical fixed-point resampling of uint8 images (csrc/cpu/resample_rows.cpp).

    out = resample_rows(images, weights, precision=22)

images: uint8 N x H x W x C; weights: integer h x H (each row's nonzero taps
contiguous; palette/resample.py computes Pillow's Lanczos ones). Returns uint8
N x h x W x C with out[:, o] = clip((2^(p-1) + sum_k weights[o, k] * images[:, k]) >> p,
0, 255): Pillow's vertical resampling pass, bit for bit (int32 sums, as Pillow's).
"""
import numpy as np

from learned_codec import _C


def resample_rows(images, weights, precision=22):
    x = np.asarray(images)
    if x.dtype != np.uint8 or x.ndim != 4 or 0 in x.shape[1:]:
        raise ValueError(f"images must be uint8 N x H x W x C, got {x.dtype} {x.shape}")
    wt = np.asarray(weights)
    if wt.ndim != 2 or wt.shape[1] != x.shape[1] or wt.shape[0] < 1 or not np.issubdtype(wt.dtype, np.integer):
        raise ValueError(f"weights must be integer h x {x.shape[1]}, got {wt.dtype} {wt.shape}")
    if not 1 <= int(precision) <= 30:
        raise ValueError(f"precision must be 1..30, got {precision}")
    x = np.ascontiguousarray(x)
    wt = np.ascontiguousarray(wt, dtype=np.int64)
    n, h_in, w, c = x.shape
    out = np.empty((n, wt.shape[0], w, c), dtype=np.uint8)
    status = _C.resample_rows(x.ctypes.data, n, h_in, w * c, wt.ctypes.data, wt.shape[0], int(precision),
                              out.ctypes.data)
    if status < 0:
        raise ValueError("resample_rows: weights whose sums could overflow 32 bits at this precision")
    return out
