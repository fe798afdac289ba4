"""The two resampling ops: ops.resample_rows (palette.resample.resize_height, Pillow's
Lanczos height resize bit for bit) against Pillow and the NumPy reference, and
ops.resample_invert / palette.resample.invert_exact, its exact inversion on palette
screens, checked against the forward pass on real screens of several games and both
ALE screen heights."""
import numpy as np
import pytest

from data_tools.atari import record
from learned_codec.ops import RESAMPLE_MAX_COLOURS, resample_invert, resample_rows
from learned_codec.palette.resample import (PRECISION_BITS, invert_exact, resize_height, resize_height_reference,
                                            resize_weights)


def _rgb(screens24):
    return np.stack([(screens24 >> 16) & 255, (screens24 >> 8) & 255, screens24 & 255], -1).astype(np.uint8)


def _palette(screens):
    return np.unique(screens.reshape(-1, 3), axis=0)


@pytest.mark.parametrize("h_in,h_out,w,c", [(210, 200, 160, 3), (250, 200, 16, 3), (12, 11, 5, 1),
                                          (200, 210, 8, 3), (7, 3, 4, 4)])
def test_resize_is_pillows_bit_for_bit(h_in, h_out, w, c):
    from PIL import Image

    images = np.random.default_rng(h_in).integers(0, 256, (3, h_in, w, c), dtype=np.uint8)
    out = resize_height(images, h_out)
    assert out.shape == (3, h_out, w, c)
    assert np.array_equal(out, resize_height_reference(images, h_out))
    mode = {1: "L", 3: "RGB", 4: "CMYK"}[c]   # (RGBA would be premultiplied by Pillow)
    pil = np.stack([np.asarray(Image.fromarray(im.squeeze(-1) if c == 1 else im, mode)
                               .resize((w, h_out), Image.LANCZOS)) for im in images])
    assert np.array_equal(out, pil.reshape(out.shape))


def test_resample_rows_bad_arguments():
    weights = resize_weights(210, 200)[1]
    with pytest.raises(ValueError, match="images"):
        resample_rows(np.zeros((1, 210, 4, 3), np.float32), weights)
    with pytest.raises(ValueError, match="weights"):
        resample_rows(np.zeros((1, 209, 4, 3), np.uint8), weights)
    with pytest.raises(ValueError, match="overflow"):
        resample_rows(np.zeros((1, 210, 4, 3), np.uint8), weights << 9)


@pytest.mark.parametrize("game", ["ms_pacman", "pacman", "breakout", "seaquest"])
def test_real_screens_invert_to_themselves(game):
    screens = record(game, 9001, 6)[::2]
    frames = resize_height(screens, 200)
    out, ok = invert_exact(frames, _palette(screens), screens.shape[1])
    assert ok.all()
    assert np.array_equal(resize_height(_rgb(out), 200), frames)
    assert np.array_equal(_rgb(out), screens)   # and here the only such screen is the true one


def test_flat_colours_need_no_palette():
    # two colours in wide bands: every colour shows in a flat run of the frame
    screens = np.zeros((1, 210, 8, 3), np.uint8)
    screens[0, 60:140] = (200, 72, 72)
    screens[0, 150:155, 2:5] = (200, 72, 72)
    frames = resize_height(screens, 200)
    out, ok = invert_exact(frames, np.zeros((0, 3), np.uint8), 210)
    assert ok.all() and np.array_equal(resize_height(_rgb(out), 200), frames)


def test_small_random_screens_against_the_forward_pass():
    rng = np.random.default_rng(3)
    pal = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    for h_in, h_out in ((21, 20), (25, 20), (12, 11)):
        screens = pal[rng.integers(0, 4, (3, h_in, 5))]
        frames = resize_height(screens, h_out)
        out, ok = invert_exact(frames, pal, h_in)
        assert ok.all(), (h_in, h_out)
        assert np.array_equal(resize_height(_rgb(out), h_out), frames)


def test_what_is_no_resize_is_said_not_faked():
    frames = np.random.default_rng(5).integers(0, 256, (2, 200, 16, 3), dtype=np.uint8)
    pal = np.random.default_rng(6).integers(0, 256, (16, 3), dtype=np.uint8)
    out, ok = resample_invert(frames, resize_weights(210, 200)[1], pal, precision=PRECISION_BITS, budget=64)
    assert not ok.any() and not out.any()


def test_bad_arguments_are_clear_errors():
    weights = resize_weights(210, 200)[1]
    frames = np.zeros((1, 200, 4, 3), np.uint8)
    pal = np.zeros((2, 3), np.uint8)
    with pytest.raises(ValueError, match="frames"):
        resample_invert(frames.astype(np.float32), weights, pal)
    with pytest.raises(ValueError, match="weights"):
        resample_invert(frames[:, :199], weights, pal)
    with pytest.raises(ValueError, match="palette"):
        resample_invert(frames, weights, np.zeros((RESAMPLE_MAX_COLOURS + 1, 3), np.uint8))
    with pytest.raises(ValueError, match="estimate"):
        resample_invert(frames, weights, pal, estimate=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="budget"):
        resample_invert(frames, weights, pal, budget=0)
    with pytest.raises(ValueError, match="taps"):
        resample_invert(frames, np.zeros_like(weights), pal)
    for huge in (weights << 9, np.full_like(weights, 1 << 62), np.full_like(weights, -(1 << 63))):
        with pytest.raises(ValueError, match="overflow"):
            resample_invert(frames, huge, pal)
        with pytest.raises(ValueError, match="overflow"):
            resample_rows(np.zeros((1, 210, 4, 3), np.uint8), huge)
