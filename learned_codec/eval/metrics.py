"""Quality and rate metrics: PSNR, SSIM, bits per pixel, BD-rate, the reference's ratio.

PSNR is over RGB with peak 255, computed per frame and averaged over frames (the
mean of per-frame values, as the Pac-Man report did, not the PSNR of the mean MSE).
A frame decoded exactly has infinite PSNR; the mean is then infinite too.
"""
from typing import NamedTuple, Optional

import numpy as np

RAW_FRAME_BYTES = 200 * 160 * 3  # 96,000: the reference report's uint8 frame


def _pair(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.ndim == 3:
        a, b = a[None], b[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"expected N x H x W x 3 or H x W x 3 frames, got {a.shape}")
    return a, b


def psnr_per_frame(a, b):
    """PSNR in dB of each frame (RGB, peak 255); inf where a frame is identical."""
    a, b = _pair(a, b)
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = np.mean(diff * diff, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(255.0 ** 2 / mse)


def psnr(a, b):
    """Mean over frames of the per-frame PSNR (dB)."""
    return float(np.mean(psnr_per_frame(a, b)))


def ssim_per_frame(a, b):
    """scikit-image SSIM of each frame (channel_axis=-1, data_range=255, default 7x7 window)."""
    from skimage.metrics import structural_similarity

    a, b = _pair(a, b)
    return np.array([
        structural_similarity(x, y, channel_axis=-1, data_range=255) for x, y in zip(a, b)
    ])


def ssim(a, b):
    """Mean over frames of the per-frame SSIM."""
    return float(np.mean(ssim_per_frame(a, b)))


def bpp(nbytes, h, w):
    """Bits per pixel of `nbytes` for one h x w frame (pixels, not samples: RGB counts once)."""
    return 8.0 * nbytes / (h * w)


def reference_compression_ratio(code_entries, bytes_per_entry=4, raw_bytes=RAW_FRAME_BYTES):
    """The Pac-Man report's "compression ratio = code entries x 4 / 96,000".

    It counts the code as float32 (4 bytes an entry; 1 for uint8 codes) and ignores
    everything else a decoder needs, so it is an estimate: always report it beside the
    real encoded bytes, never instead of them.
    """
    return code_entries * bytes_per_entry / raw_bytes


class BDRate(NamedTuple):
    """Bjøntegaard delta rate in percent (NaN when it cannot be computed, with the reason)."""

    percent: float
    reason: Optional[str] = None


def _clean_curve(rate, quality):
    """log10(rate) and quality of a curve's efficient points, quality increasing.

    Non-finite points (lossless) are left out, and so is every point that does not beat
    the quality of some cheaper point of the same curve (under-trained learned models give
    such curves): a codec user would never pick it, and a fit through it oscillates."""
    rate = np.asarray(rate, dtype=np.float64)
    quality = np.asarray(quality, dtype=np.float64)
    keep = np.isfinite(rate) & np.isfinite(quality) & (rate > 0)
    rate, quality = rate[keep], quality[keep]
    order = np.lexsort((-quality, rate))  # by rate, the best quality first among equal rates
    rate, quality = rate[order], quality[order]
    front, best = [], -np.inf
    for i, q in enumerate(quality):
        if q > best:
            front.append(i)
            best = q
    return np.log10(rate[front]), quality[front]


def bd_rate(rate_a, psnr_a, rate_b, psnr_b):
    """Average rate difference of curve b against anchor curve a at equal PSNR, in percent.

    Bjøntegaard's delta rate with piecewise cubic interpolation (as the JVET and AOM
    common test conditions compute it, instead of VCEG-M33's single cubic polynomial):
    log10(rate) as a monotone piecewise cubic (PCHIP) of PSNR through each curve's
    efficient points (see _clean_curve), both integrated over the PSNR range the two
    curves share; the mean log-rate difference becomes a percentage: 10**mean - 1.
    Negative means b needs fewer bytes than a for the same quality. Rates may be bytes,
    bits or bpp (only ratios matter). PCHIP passes through the points and never
    overshoots, so a curve whose points are close in PSNR cannot give a wild fit (a
    cubic polynomial did: -90 % for a curve that needed twice the bytes).
    Returns BDRate(NaN, reason) when a curve has under 2 usable points or the PSNR
    ranges do not overlap: extrapolating a fit would be a made-up number.
    """
    from scipy.interpolate import PchipInterpolator

    log_a, q_a = _clean_curve(rate_a, psnr_a)
    log_b, q_b = _clean_curve(rate_b, psnr_b)
    for which, q in (("anchor", q_a), ("test", q_b)):
        if len(q) < 2:
            return BDRate(float("nan"), f"{which} curve has {len(q)} usable point(s); needs 2+")
    lo = max(q_a.min(), q_b.min())
    hi = min(q_a.max(), q_b.max())
    if hi <= lo:
        return BDRate(
            float("nan"),
            f"PSNR ranges do not overlap ({q_a.min():.2f}-{q_a.max():.2f} dB vs "
            f"{q_b.min():.2f}-{q_b.max():.2f} dB)",
        )
    area_a = PchipInterpolator(q_a, log_a).integrate(lo, hi)
    area_b = PchipInterpolator(q_b, log_b).integrate(lo, hi)
    mean_diff = (area_b - area_a) / (hi - lo)
    return BDRate(float((10.0 ** mean_diff - 1.0) * 100.0))
