"""ops.resample_invert / palette.resample.invert_exact: the exact inversion of Pillow's
Lanczos height resize of palette screens, checked against resize_height (the bit-exact
forward pass) on real screens of several games and both ALE screen heights."""
import numpy as np
import pytest

from data_tools.atari import record
from learned_codec.ops import RESAMPLE_MAX_COLOURS, resample_invert
from learned_codec.palette.resample import PRECISION_BITS, invert_exact, resize_height, resize_weights


def _rgb(screens24):
    return np.stack([(screens24 >> 16) & 255, (screens24 >> 8) & 255, screens24 & 255], -1).astype(np.uint8)


def _palette(screens):
    return np.unique(screens.reshape(-1, 3), axis=0)


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
