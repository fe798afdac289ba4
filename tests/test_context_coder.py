"""ops.context_encode / context_decode and the counted tables of palette/tables.py."""
import numpy as np
import pytest

from learned_codec import ops
from learned_codec.palette.tables import ContextCounter, code_length_bits, component_planes, quantize_rows

LEVELS = [("W", "N", "NW", "NE", "ref0"), ("W", "N", "WW", "NN"), ("W",), ()]


def _images(rng, n=6, h=23, w=17, nsym=5):
    """Piecewise-constant images (runs, like pixel art) with a reference plane each."""
    imgs = np.zeros((n, h, w), np.uint8)
    for img in imgs:
        for _ in range(12):
            y, x = rng.integers(0, h), rng.integers(0, w)
            img[y:y + rng.integers(1, 8), x:x + rng.integers(1, 8)] = rng.integers(0, nsym)
    refs = imgs.copy()
    flip = rng.random(refs.shape) < 0.05
    refs[flip] = rng.integers(0, nsym, flip.sum())
    return imgs, refs[:, None]


def _tables(rng, nsym=5):
    imgs, refs = _images(rng, n=20, nsym=nsym)
    counter = ContextCounter(LEVELS, nsym)
    counter.add(imgs, refs)
    return counter.tables(min_count=2)


@pytest.mark.parametrize("seed", range(4))
def test_round_trip_and_size_matches_the_model(seed):
    rng = np.random.default_rng(seed)
    tables = _tables(rng)
    imgs, refs = _images(rng)
    ideal = code_length_bits(tables, imgs, refs)
    for img, ref, bits in zip(imgs, refs, ideal):
        data = ops.context_encode(img, tables, ref)
        assert np.array_equal(ops.context_decode(data, *img.shape, tables, ref), img)
        # rANS costs the ideal code length plus its 4-byte final state (and < 1 byte rounding).
        assert bits / 8 <= len(data) <= bits / 8 + 6


def test_python_contexts_match_the_coder():
    """context_model counts the contexts the C++ coder uses: a model fitted on one image
    with no smoothing codes it in its empirical conditional entropy."""
    rng = np.random.default_rng(7)
    imgs, refs = _images(rng, n=1)
    counter = ContextCounter(LEVELS, 5)
    counter.add(imgs, refs)
    tables = counter.tables(min_count=1, alpha=1e-9)
    data = ops.context_encode(imgs[0], tables, refs[0])
    assert len(data) <= code_length_bits(tables, imgs, refs)[0] / 8 + 6
    planes = component_planes(imgs, refs)
    assert planes["W"][0, 0, 0] == 31 and planes["NN"][0, 1, 3] == 31 and planes["NE"][0, 2, -1] == 31
    assert planes["NW"][0, 2, 2] == imgs[0, 1, 1]


def test_any_image_is_codable():
    """Every frequency is >= 1, so symbols the training never saw still code exactly."""
    rng = np.random.default_rng(1)
    tables = _tables(rng)
    noise = rng.integers(0, 5, (30, 30)).astype(np.uint8)
    ref = rng.integers(0, 5, (1, 30, 30)).astype(np.uint8)
    data = ops.context_encode(noise, tables, ref)
    assert np.array_equal(ops.context_decode(data, 30, 30, tables, ref), noise)


def test_quantized_rows_sum_to_two_to_the_16():
    rows = quantize_rows(np.array([[0, 0, 1e9], [3, 4, 5], [0, 0, 0]]), alpha=0.05)
    assert rows.dtype == np.uint16
    assert (rows.astype(np.int64).sum(1) == 1 << 16).all() and rows.min() >= 1


def test_bad_arguments_are_clear_errors():
    rng = np.random.default_rng(2)
    tables = _tables(rng)
    img = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match="out of range"):
        ops.context_encode(img + 9, tables, img[None])
    with pytest.raises(ValueError, match="refs must be"):
        ops.context_encode(img, tables, np.zeros((1, 3, 4), np.uint8))
    with pytest.raises(ValueError, match="reference planes"):
        ops.context_encode(img, tables, None)
    with pytest.raises(ValueError, match="symbols must be"):
        ops.context_encode(img.astype(np.int32), tables, img[None])
    bad = ops.ContextModelTables(tables.levels, np.split(tables.keys, tables.level_start[1:-1]),
                                 tables.freqs.copy())
    bad.freqs[0, 0] += 1  # a row that no longer sums to 2^16
    with pytest.raises(ValueError, match="malformed"):
        ops.context_encode(img, bad, img[None])
    with pytest.raises(ValueError, match="catch-all"):
        ops.ContextModelTables([("W",)], [np.zeros(1, np.int64)], np.full((1, 2), 1 << 15))


def test_damaged_streams_are_refused_or_exact():
    """Thousands of truncations, bit flips and random strings: never a crash, an
    over-read or a hang; a stream that still decodes must give a valid image."""
    rng = np.random.default_rng(3)
    tables = _tables(rng)
    imgs, refs = _images(rng, n=2)
    refused = 0
    for img, ref in zip(imgs, refs):
        data = bytearray(ops.context_encode(img, tables, ref))
        cases = [bytes(data[:k]) for k in range(len(data))]
        for _ in range(1500):
            d = bytearray(data)
            d[rng.integers(len(d))] ^= 1 << rng.integers(8)
            cases.append(bytes(d))
        cases += [rng.bytes(int(rng.integers(0, 64))) for _ in range(300)]
        cases.append(bytes(data) + b"\0")
        for case in cases:
            try:
                out = ops.context_decode(case, *img.shape, tables, ref)
            except ops.RansDecodeError:
                refused += 1
                continue
            assert out.shape == img.shape and out.max() < tables.nsym
    assert refused > 0.9 * len(cases)  # the final-state check catches nearly every change


def test_parent_keys_and_hierarchical_smoothing():
    from learned_codec.palette.tables import context_keys, parent_keys

    rng = np.random.default_rng(4)
    imgs, refs = _images(rng, n=3)
    planes = component_planes(imgs, refs)
    child, parent = ("W", "N", "NW", "ref0"), ("N", "ref0")
    k_child = context_keys(planes, child, imgs.shape).ravel()
    k_parent = context_keys(planes, parent, imgs.shape).ravel()
    assert np.array_equal(parent_keys(k_child, child, parent), k_parent)

    nested = [("W", "N", "ref0"), ("W", "N"), ("W",), ()]
    counter = ContextCounter(nested, 5)
    counter.add(*_images(rng, n=20))
    test_imgs, test_refs = _images(rng)
    plain = code_length_bits(counter.tables(min_count=1, alpha=0.05), test_imgs, test_refs).sum()
    smooth = code_length_bits(counter.tables(min_count=1, alpha=0.05, beta=2.0), test_imgs, test_refs).sum()
    assert smooth < plain  # rare contexts no longer overconfident
    tables = counter.tables(min_count=1, beta=2.0)
    data = ops.context_encode(test_imgs[0], tables, test_refs[0])
    assert np.array_equal(ops.context_decode(data, *test_imgs[0].shape, tables, test_refs[0]), test_imgs[0])
    with pytest.raises(ValueError, match="nested"):
        ContextCounter(LEVELS, 5).tables(beta=1.0)
