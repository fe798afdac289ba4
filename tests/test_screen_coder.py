"""ops.screen_encode / screen_decode: the generic palette model's adaptive coder."""
import numpy as np
import pytest

from learned_codec.ops import RansDecodeError, ScreenCoderState, screen_decode, screen_encode


def _screens(rng, n=6, h=40, w=48, ncol=5):
    """A moving sprite over a striped playfield with a mirrored right half."""
    base = np.zeros((h, w), np.uint8)
    base[::4] = 1
    base[:, : w // 2][10:14] = 2
    base[:, w // 2:] = base[:, : w // 2][:, ::-1]
    out = np.repeat(base[None], n, 0)
    for t in range(n):
        y, x = 5 + t, 3 + 2 * t
        out[t, y:y + 6, x:x + 5] = 3 + (t % (ncol - 3))
    noise = rng.random(out.shape) < 0.01
    out[noise] = rng.integers(0, ncol, noise.sum())
    return out


@pytest.mark.parametrize("video", [False, True])
def test_round_trip(video):
    s = _screens(np.random.default_rng(0))
    streams = screen_encode(s, 5, video=video)
    assert len(streams) == len(s)
    assert np.array_equal(screen_decode(streams, *s.shape[1:], 5, video=video), s)


def test_image_mode_frames_decode_alone_and_video_is_cheaper():
    s = _screens(np.random.default_rng(1))
    streams = screen_encode(s, 5)
    for t in (0, 3, 5):
        assert np.array_equal(screen_decode(streams[t:t + 1], *s.shape[1:], 5)[0], s[t])
    video = screen_encode(s, 5, video=True)
    assert sum(map(len, video[1:])) < 0.9 * sum(map(len, streams[1:]))
    # A structured screen costs far less than its 3 bits per pixel of raw indices.
    assert len(streams[0]) * 8 < 0.5 * s[0].size


def test_fitted_state_round_trips_and_is_what_the_decoder_needs():
    rng = np.random.default_rng(2)
    s = _screens(rng)
    _, state = screen_encode(s[:3], 5, state=ScreenCoderState.cold(), fit=True)
    state = state.capped(255)
    streams = screen_encode(s[3:], 5, state=state)
    assert np.array_equal(screen_decode(streams, *s.shape[1:], 5, state=state), s[3:])
    assert not np.array_equal(state.table1, ScreenCoderState.cold().table1)


def test_bad_arguments_are_value_errors():
    s = _screens(np.random.default_rng(3))
    with pytest.raises(ValueError, match="index"):
        screen_encode(s, 3)              # indices up to 4
    with pytest.raises(ValueError, match="ncol"):
        screen_encode(s, 0)
    with pytest.raises(ValueError, match="uint8"):
        screen_encode(s.astype(np.int32), 5)
    with pytest.raises(ValueError, match="counters"):
        ScreenCoderState(np.zeros(3, np.uint32), np.zeros((1, 1), np.int32))


def test_damaged_streams_never_crash():
    """Garbage decodes to some screen or raises RansDecodeError; never a crash or a hang
    (the container's CRC is what finds damage)."""
    rng = np.random.default_rng(4)
    s = _screens(rng, n=2)
    streams = screen_encode(s, 5, video=True)
    for trial in range(20):
        bad = [bytes(rng.integers(0, 256, rng.integers(0, 40), dtype=np.uint8)) for _ in streams]
        try:
            out = screen_decode(bad, *s.shape[1:], 5, video=True)
            assert out.shape == s.shape and out.max() < 5
        except RansDecodeError:
            pass
    cut = [b[: len(b) // 2] for b in streams]
    try:
        assert screen_decode(cut, *s.shape[1:], 5, video=True).shape == s.shape
    except RansDecodeError:
        pass
