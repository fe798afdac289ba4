"""Metrics against scikit-image / numpy reference values on fixed images."""
import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from learned_codec.eval import metrics as metrics


def fixed_pair(n=3, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(n, 40, 32, 3), dtype=np.uint8)
    noise = rng.integers(-12, 13, size=a.shape)
    b = np.clip(a.astype(int) + noise, 0, 255).astype(np.uint8)
    return a, b


def test_psnr_matches_skimage_per_frame_and_is_the_mean_of_frames():
    a, b = fixed_pair()
    b[2] = np.clip(b[2].astype(int) + 30, 0, 255)  # frames of different quality
    expected = [peak_signal_noise_ratio(x, y, data_range=255) for x, y in zip(a, b)]
    np.testing.assert_allclose(metrics.psnr_per_frame(a, b), expected, rtol=1e-12)
    assert metrics.psnr(a, b) == pytest.approx(np.mean(expected), rel=1e-12)
    # the mean of per-frame PSNRs, not the PSNR of the mean MSE
    pooled = 10 * np.log10(255 ** 2 / np.mean((a.astype(float) - b) ** 2))
    assert abs(metrics.psnr(a, b) - pooled) > 0.1


def test_psnr_known_value_and_identical_frames():
    a = np.zeros((1, 10, 10, 3), np.uint8)
    b = np.full_like(a, 5)  # MSE 25
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 25))
    assert math.isinf(metrics.psnr(a, a))
    assert metrics.psnr(a[0], b[0]) == metrics.psnr(a, b)  # a single H x W x 3 frame


def test_psnr_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        metrics.psnr(np.zeros((1, 4, 4, 3), np.uint8), np.zeros((1, 4, 5, 3), np.uint8))


def test_ssim_matches_skimage_mean_over_frames():
    a, b = fixed_pair()
    expected = np.mean([structural_similarity(x, y, channel_axis=-1, data_range=255)
                        for x, y in zip(a, b)])
    assert metrics.ssim(a, b) == pytest.approx(expected, rel=1e-12)
    assert metrics.ssim(a, a) == pytest.approx(1.0)


def test_bpp_and_reference_ratio():
    assert metrics.bpp(4000, 200, 160) == pytest.approx(1.0)
    assert metrics.RAW_FRAME_BYTES == 96000
    # the report's rows: 1000 float32 entries per block x 16 blocks = 2/3; uint8 = 1/6
    assert metrics.reference_compression_ratio(16000) == pytest.approx(2 / 3)
    assert metrics.reference_compression_ratio(16000, bytes_per_entry=1) == pytest.approx(1 / 6)


def rd_curve():
    rate = np.array([1000.0, 1600.0, 2500.0, 4000.0, 6500.0])
    quality = np.array([30.0, 33.1, 36.0, 39.2, 42.0])
    return rate, quality


def test_bd_rate_of_a_curve_against_itself_is_zero():
    rate, q = rd_curve()
    res = metrics.bd_rate(rate, q, rate, q)
    assert res.reason is None
    assert res.percent == pytest.approx(0.0, abs=1e-9)


def test_bd_rate_half_and_double_the_bytes():
    rate, q = rd_curve()
    assert metrics.bd_rate(rate, q, rate / 2, q).percent == pytest.approx(-50.0, abs=1e-6)
    assert metrics.bd_rate(rate, q, rate * 2, q).percent == pytest.approx(100.0, abs=1e-6)


def test_bd_rate_with_few_points_and_partial_overlap():
    rate, q = rd_curve()
    # 3 points, shifted half-way up the range: still the same curve, so 0 %
    res = metrics.bd_rate(rate, q, rate[2:], q[2:])
    assert abs(res.percent) < 2.0


def test_bd_rate_of_a_non_monotone_curve_follows_its_efficient_points():
    # An under-trained learned codec: two points 0.04 dB apart, the dearer one worse
    # (this measured curve gave -90.6 % against WebP with a cubic polynomial fit,
    # although it needs about twice WebP's bytes at every shared PSNR).
    webp = ([1591, 2151, 2521, 3745, 5642], [28.02, 31.80, 32.40, 33.80, 34.02])
    hyper = ([1861, 3432, 4319, 4619], [27.84, 29.02, 29.45, 29.06])
    res = metrics.bd_rate(*webp, *hyper)
    assert res.reason is None and 60 < res.percent < 200
    # dominated points change nothing
    assert metrics.bd_rate(*webp, [1861, 3432, 4319], [27.84, 29.02, 29.45]).percent == pytest.approx(res.percent)


def test_bd_rate_no_overlap_is_nan_with_reason():
    rate, q = rd_curve()
    res = metrics.bd_rate(rate, q, rate, q + 20)
    assert math.isnan(res.percent)
    assert "do not overlap" in res.reason


def test_bd_rate_ignores_lossless_points_and_needs_two():
    rate, q = rd_curve()
    res = metrics.bd_rate(rate, q, [5000.0, 100.0], [math.inf, 35.0])
    assert math.isnan(res.percent) and "usable point" in res.reason
