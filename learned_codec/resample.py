"""Pillow's Lanczos resampling of frame heights, exactly, and its inverse on palette images.

The Pac-Man data set (data_tools/pacman.py) resizes 210 x 160 emulator screens to
200 x 160 with Pillow's Lanczos filter. The width does not change, so Pillow runs
only its vertical pass: every output row is a fixed integer-weighted sum of about
seven input rows (22-bit fixed point, rounded, clipped), channel by channel.

`resize_height` reproduces that pass bit for bit (the weights are computed the way
Pillow's Resample.c computes them), so a decoder that knows the emulator screen
knows the frame. `invert_resize` finds, for a resized frame, the screen of palette
colours whose resize is closest to it (iterated conditional modes over the rows,
starting from the least-squares solution). On the data set's frames it finds a
screen that resizes back to the frame exactly; on anything else it finds the
nearest such screen and the codec stores what is left (see palette_codec.py).
"""
import functools

import numpy as np

PRECISION_BITS = 22  # Pillow's fixed-point precision for 8-bit images
LANCZOS_SUPPORT = 3.0


def _lanczos(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    inside = np.abs(x) < LANCZOS_SUPPORT
    xi = x[inside]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(xi == 0, 1.0, np.sin(np.pi * xi) / (np.pi * xi))
        s3 = np.where(xi == 0, 1.0, np.sin(np.pi * xi / 3) / (np.pi * xi / 3))
    out[inside] = s * s3
    return out


@functools.lru_cache(maxsize=8)
def resize_weights(in_size, out_size):
    """-> (float64 out x in weights, int64 out x in fixed-point weights) of Pillow's
    Lanczos resampling from in_size to out_size samples (ImagingResample's
    precompute_coeffs and normalize_coeffs_8bpc)."""
    if in_size < 1 or out_size < 1:
        raise ValueError(f"bad resize {in_size} -> {out_size}")
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = LANCZOS_SUPPORT * filterscale
    weights = np.zeros((out_size, in_size))
    fixed = np.zeros((out_size, in_size), dtype=np.int64)
    for o in range(out_size):
        center = (o + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        xs = np.arange(lo, hi)
        w = _lanczos((xs - center + 0.5) / filterscale)
        w = w / w.sum()
        weights[o, xs] = w
        fixed[o, xs] = np.trunc(np.where(w < 0, -0.5, 0.5) + w * (1 << PRECISION_BITS))
    weights.setflags(write=False)
    fixed.setflags(write=False)
    return weights, fixed


def resize_height(screens, out_height):
    """uint8 N x H x W x C (or H x W x C) -> N x out_height x W x C, exactly as
    Pillow's Image.resize((W, out_height), Image.LANCZOS) does."""
    screens = np.asarray(screens)
    single = screens.ndim == 3
    x = screens[None] if single else screens
    if x.dtype != np.uint8 or x.ndim != 4:
        raise ValueError(f"screens must be uint8 N x H x W x C, got {screens.dtype} {screens.shape}")
    _, fixed = resize_weights(x.shape[1], int(out_height))
    acc = np.einsum("oi,niwc->nowc", fixed, x.astype(np.int64), optimize=True)
    out = np.clip((acc + (1 << (PRECISION_BITS - 1))) >> PRECISION_BITS, 0, 255).astype(np.uint8)
    return out[0] if single else out


def invert_resize(frames, palette, in_height, max_sweeps=20):
    """Palette screens whose Lanczos resize is closest to `frames`.

    frames: uint8 N x h x W x 3 (resized); palette: uint8 P x 3. Returns uint8
    N x in_height x W palette indices. Least squares gives a start (the nearest
    palette colour of the minimum-norm solution); then each row takes the palette
    colour that lowers the squared error most, all columns and every ninth row at
    once (rows nine apart never share an output row), until nothing changes.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 N x H x W x 3, got {frames.dtype} {frames.shape}")
    pal = np.asarray(palette, dtype=np.float64).reshape(-1, 3)
    weights, _ = resize_weights(int(in_height), frames.shape[1])
    stride = int(np.max(np.count_nonzero(weights, axis=1)))  # rows this far apart are independent
    colsq = (weights ** 2).sum(0)
    y = frames.astype(np.float64)
    z = np.einsum("io,nowc->niwc", np.linalg.pinv(weights), y, optimize=True)
    idx = ((z[..., None, :] - pal) ** 2).sum(-1).argmin(-1)           # N x H x W
    x = pal[idx]                                                       # N x H x W x 3
    resid = np.einsum("oi,niwc->nowc", weights, x, optimize=True) - y  # N x h x W x 3
    for _ in range(max_sweeps):
        changed = 0
        for phase in range(stride):
            rows = np.arange(phase, int(in_height), stride)
            a = weights[:, rows]                                       # h x r
            grad = np.einsum("or,nowc->nrwc", a, resid, optimize=True)  # N r W 3
            xr = x[:, rows]
            cr = colsq[rows][None, :, None, None]
            # Change in squared error if row r of a column became palette colour p:
            # 2 g.(p - x) + |p - x|^2 sum_o a_or^2, expanded so no N r W P 3 array is made.
            cost = 2 * (grad @ pal.T) - 2 * cr * (xr @ pal.T) + cr * (pal ** 2).sum(1) \
                + (cr[..., 0] * (xr ** 2).sum(-1) - 2 * (grad * xr).sum(-1))[..., None]
            best = cost.argmin(-1)
            better = np.take_along_axis(cost, best[..., None], -1)[..., 0] < -1e-9
            if better.any():
                new = np.where(better, best, idx[:, rows])
                dx = pal[new] - xr
                resid += np.einsum("or,nrwc->nowc", a, dx, optimize=True)
                idx[:, rows] = new
                x[:, rows] = pal[new]
                changed += int(better.sum())
        if not changed:
            break
    return idx.astype(np.uint8)
