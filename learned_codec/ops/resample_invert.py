"""Exact inversion of a vertical fixed-point resampling on palette screens
(csrc/cpu/resample_invert.cpp).

    screens, ok = resample_invert(frames, weights, palette)

frames: uint8 N x h x W x 3, each the resampling of an H x W screen drawn from a
palette: row o = clip((2^(p-1) + sum_k weights[o, k] * screen[k]) >> p, 0, 255) per
channel (Pillow's vertical pass; p = `precision`, 22 for 8-bit images).
weights: int64 h x H, every row's nonzero taps contiguous (palette/resample.py
computes Pillow's Lanczos ones). palette: uint8 P x 3 candidate colours (P <= 255);
the colours of a frame's flat runs are candidates too, so a screen whose colours
all show in flat runs needs none. estimate (optional): float64 H x h, a linear
estimate of a screen column from a frame column (the pseudo-inverse of the weights)
that proposes colours and orders the search where the frame's own colours fail.

known, known_mask (optional, together): int32 N x H x W rgb24 screen columns and bool
N x W flags: a flagged column is taken from `known` as it is, unchecked (the caller
knows that it resamples to that frame column: a column solved before).

Returns (int32 N x H x W screens as rgb24 = R << 16 | G << 8 | B, bool N ok): a frame
with ok[i] has a screen whose resampling is exactly frames[i]; the others are zeros
(not a resampled palette screen, or a column that needed more than `budget` colour
trials: the search is a depth-first one over the rows of each column).
"""
import numpy as np

from learned_codec import _C

RESAMPLE_MAX_COLOURS = int(_C.resample_max_colours)
DEFAULT_BUDGET = 4096  # colour trials per column: ~20 per row of a 210-row screen


def resample_invert(frames, weights, palette, estimate=None, precision=22, budget=DEFAULT_BUDGET,
                    known=None, known_mask=None):
    f = np.asarray(frames)
    if f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3 or 0 in f.shape[1:]:
        raise ValueError(f"frames must be uint8 N x h x W x 3, got {f.dtype} {f.shape}")
    wt = np.asarray(weights)
    if wt.ndim != 2 or wt.shape[0] != f.shape[1] or wt.shape[1] < 1 or not np.issubdtype(wt.dtype, np.integer):
        raise ValueError(f"weights must be integer {f.shape[1]} x H, got {wt.dtype} {wt.shape}")
    pal = np.asarray(palette)
    if pal.dtype != np.uint8 or pal.ndim != 2 or pal.shape[1] != 3 or len(pal) > RESAMPLE_MAX_COLOURS:
        raise ValueError(f"palette must be uint8 P x 3 with P <= {RESAMPLE_MAX_COLOURS}, got {pal.dtype} {pal.shape}")
    if estimate is not None:
        estimate = np.ascontiguousarray(estimate, dtype=np.float64)
        if estimate.shape != (wt.shape[1], wt.shape[0]) or not np.isfinite(estimate).all():
            raise ValueError(f"estimate must be finite float {wt.shape[1]} x {wt.shape[0]}, got {estimate.shape}")
    if (known is None) != (known_mask is None):
        raise ValueError("known and known_mask go together")
    if known is not None:
        known = np.ascontiguousarray(known, dtype=np.int32)
        known_mask = np.ascontiguousarray(known_mask, dtype=np.uint8)
        if known.shape != (len(f), wt.shape[1], f.shape[2]) or known_mask.shape != (len(f), f.shape[2]):
            raise ValueError(f"known must be int32 N x {wt.shape[1]} x {f.shape[2]} and known_mask N x "
                             f"{f.shape[2]}, got {known.shape} and {known_mask.shape}")
    if not 1 <= int(precision) <= 30 or int(budget) < 1:
        raise ValueError(f"precision must be 1..30 and budget >= 1, got {precision} and {budget}")
    f = np.ascontiguousarray(f)
    wt = np.ascontiguousarray(wt, dtype=np.int64)
    pal = np.ascontiguousarray(pal)
    n, h_in, w = len(f), wt.shape[1], f.shape[2]
    out = np.zeros((n, h_in, w), dtype=np.int32)
    ok = np.zeros(max(n, 1), dtype=np.uint8)
    status = _C.resample_invert(f.ctypes.data, n, f.shape[1], w, wt.ctypes.data, h_in, int(precision),
                                pal.ctypes.data if len(pal) else 0, len(pal),
                                0 if estimate is None else estimate.ctypes.data, int(budget),
                                0 if known is None else known.ctypes.data,
                                0 if known_mask is None else known_mask.ctypes.data, out.ctypes.data, ok.ctypes.data)
    if status < 0:
        raise ValueError("resample_invert: a weights row without taps, weights whose sums could overflow "
                         "32 bits at this precision, or sizes out of range")
    return out, ok[:n].astype(bool)
