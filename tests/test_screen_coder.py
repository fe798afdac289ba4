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


@pytest.mark.parametrize("video", [False, True])
def test_damaged_streams_never_crash(video):
    """Garbage decodes to some screen or raises RansDecodeError; never a crash or a hang
    (the container's CRC is what finds damage). Image mode includes the row dictionary's
    place codes, which damage can push past the list."""
    rng = np.random.default_rng(4)
    s = _screens(rng, n=2)
    streams = screen_encode(s, 5, video=video)
    for trial in range(40):
        bad = [bytes(rng.integers(0, 256, rng.integers(0, 60), dtype=np.uint8)) for _ in streams]
        try:
            out = screen_decode(bad, *s.shape[1:], 5, video=video)
            assert out.shape == s.shape and out.max() < 5
        except RansDecodeError:
            pass
    cut = [b[: len(b) // 2] for b in streams]
    try:
        assert screen_decode(cut, *s.shape[1:], 5, video=video).shape == s.shape
    except RansDecodeError:
        pass


def _sprite_rows(rng, spaced):
    """A 60x160 screen of 4 bands of 6 sprites (8x6 pixels, 3 colours), each band's
    sprites one shape. spaced: at a fixed 16-pixel spacing, the bands repeating a
    pattern of rows seen before (what Space Invaders and mazes look like); else the same
    sprites at random places."""
    img = np.zeros((60, 160), np.uint8)
    shapes = rng.integers(0, 3, size=(2, 6, 8)).astype(np.uint8)
    for band in range(4):
        y = 2 + 15 * band
        xs = 20 + 16 * np.arange(6) if spaced else np.sort(rng.choice(np.arange(0, 150, 9), 6, replace=False))
        for x in xs:
            img[y:y + 6, x:x + 8] = shapes[band % 2]
    return img


def test_repeated_sprites_and_rows_cost_little():
    """The period candidate and the row dictionary: sprites repeated at a spacing, bands
    repeating earlier rows, cost well under the same sprites scattered."""
    rng = np.random.default_rng(5)
    spaced = np.stack([_sprite_rows(rng, True) for _ in range(4)])
    scattered = np.stack([_sprite_rows(rng, False) for _ in range(4)])
    for s in (spaced, scattered):
        assert np.array_equal(screen_decode(screen_encode(s, 3), *s.shape[1:], 3), s)
    spaced_bytes = sum(map(len, screen_encode(spaced, 3)))
    scattered_bytes = sum(map(len, screen_encode(scattered, 3)))
    assert spaced_bytes < 0.6 * scattered_bytes, (spaced_bytes, scattered_bytes)
