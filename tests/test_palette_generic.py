"""The palette-generic codec: any ALE game, raw and resized screens, never worse than
WebP lossless, random access, the default-model choice, data atari."""
import numpy as np
import pytest

from data_tools.atari import make_dataset, record
from data_tools.pacman.episode import resize_frame
from learned_codec.codecs.baselines import webp_lossless
from learned_codec.codecs.reader import LcfFrames
from learned_codec.codecs.registry import make_video_codec, open_codec
from learned_codec.container.format import ContainerError, pack, unpack
from learned_codec.errors import UserError
from learned_codec.palette.codec import STILLS_PER_SECTION
from learned_codec.palette.generic_codec import GenericPaletteCodec
from learned_codec.palette.resample import resize_height

# The shipped generic model was fitted on breakout, pong, seaquest, freeway, asterix and
# qbert (weights/palette-generic/config.json): these games are absent from every fit.
UNSEEN = ("space_invaders", "pacman", "enduro")


@pytest.fixture(scope="module")
def generic():
    return open_codec("palette-generic")


@pytest.fixture(scope="module")
def clips():
    return {g: record(g, 4242, 24) for g in ("space_invaders", "pacman", "ms_pacman", "breakout")}


def _webp(frames):
    w = webp_lossless()
    return sum(len(w.encode_frame(f)) for f in frames)


def test_fitted_games_are_not_the_unseen_ones():
    games = open_codec("palette-generic").config["data"]["games"]
    assert len(games) == 6 and not set(UNSEEN) & set(games)


@pytest.mark.parametrize("game", ["space_invaders", "pacman", "breakout"])
def test_raw_screens_round_trip_far_below_webp(generic, clips, game):
    frames = clips[game][::4]
    data = generic.encode(frames)
    meta, sections = unpack(data)
    assert meta.extra["form"] == "raw" and meta.extra["screen_size"] == list(frames.shape[1:3])
    assert np.array_equal(generic.decode(data), frames)
    assert sum(map(len, sections)) < 0.9 * _webp(frames)   # the frames' bytes (the header: ~360 B per file)


def test_video_mode_and_random_access(generic, clips):
    frames = clips["space_invaders"]
    video = generic.with_gop(8)
    data = video.encode(frames)
    assert np.array_equal(video.decode(data), frames)
    assert len(data) < 0.5 * len(generic.encode(frames))
    reader = LcfFrames(data)
    assert len(reader) == len(frames)
    assert np.array_equal(reader[13], frames[13])
    assert np.array_equal(reader[5:11], frames[5:11])


@pytest.mark.parametrize("game", ["ms_pacman", "pacman", "space_invaders", "breakout"])
def test_resized_screens_are_inverted_exactly(generic, clips, game):
    frames = np.stack([resize_frame(s) for s in clips[game][::6]])
    data = generic.encode(frames)
    meta, _ = unpack(data)
    assert meta.extra["form"] == "resized" and meta.extra["screen_size"] == list(clips[game].shape[1:3])
    assert np.array_equal(generic.decode(data), frames)
    assert len(data) < 0.5 * _webp(frames)


@pytest.mark.parametrize("kind", ["noise", "photo-like"])
def test_never_worse_than_webp_lossless(generic, kind):
    rng = np.random.default_rng(7)
    if kind == "noise":
        frames = rng.integers(0, 256, (2, 200, 160, 3), dtype=np.uint8)
    else:  # smooth gradients, thousands of colours
        y, x = np.mgrid[0:200, 0:160]
        img = np.stack([y * 255 // 199, x * 255 // 159, (x + y) * 255 // 358], -1).astype(np.uint8)
        frames = np.stack([img, np.roll(img, 3, 1)])
    data = generic.encode(frames)
    assert np.array_equal(generic.decode(data), frames)
    header = len(pack(unpack(data)[0], [b""] * len(frames)))
    assert len(data) <= 1.05 * _webp(frames) + header + 8 * len(frames)


def test_crafted_sections_are_clear_errors(generic, clips):
    frames = clips["breakout"][:2]
    meta, sections = unpack(generic.encode(frames))
    assert len(sections) == 1 and meta.extra["frames_per_section"] == STILLS_PER_SECTION  # stills grouped
    for bad in ([b"\x07" + sections[0][1:]], [sections[0][:5]], [sections[0] + b"\x00"],
                [sections[0], sections[0]]):                                   # a section too many
        with pytest.raises(ContainerError):
            generic.decode(pack(meta, bad))
    with pytest.raises(ContainerError):
        open_codec("palette").decode(generic.encode(frames))   # wrong model: refused


def test_default_model_choice(clips):
    from learned_codec.commands.encode import choose_model

    assert choose_model(clips["space_invaders"][:1])[0] == "palette-generic"
    resized = np.stack([resize_frame(clips["ms_pacman"][3])])
    assert choose_model(resized)[0] == "palette"
    assert choose_model(clips["pacman"][:1])[0] == "palette-pacman"
    # a uniform first frame fits every model: the choice looks at frames across the input
    black_first = np.concatenate([np.zeros((1, 200, 160, 3), np.uint8), resize_height(clips["pacman"][::6], 200)])
    assert choose_model(black_first)[0] == "palette-pacman"
    assert GenericPaletteCodec._form(open_codec("palette-generic"), black_first) == ("resized", (250, 160))
    with pytest.raises(UserError):
        choose_model(np.zeros((0, 200, 160, 3), np.uint8))
    assert choose_model(np.stack([resize_height(clips["pacman"][5], 200)]))[0] == "palette-pacman"
    photo = np.random.default_rng(0).integers(0, 256, (1, 200, 160, 3), dtype=np.uint8)
    assert choose_model(photo)[0] == "conv5"


@pytest.mark.parametrize("form", ["raw", "resized"])
def test_fitted_pacman_model_beats_the_generic_one(generic, clips, form):
    # held-out seed (the fit used seeds 0-15 of data atari); raw 250x160 screens or their 200x160 resize
    frames = clips["pacman"][::3]
    if form == "resized":
        frames = resize_height(frames, 200)
    fitted = open_codec("palette-pacman")
    data = fitted.encode(frames)
    assert np.array_equal(fitted.decode(data), frames)
    assert len(data) < 0.6 * len(generic.encode(frames))
    video = make_video_codec(fitted, 8)
    assert np.array_equal(video.decode(video.encode(clips["pacman"])), clips["pacman"])


def test_data_atari_writes_both_forms(tmp_path):
    from data_tools.frames import load_manifest, load_split, load_video

    m = make_dataset(tmp_path / "pong", "Pong", videos=3, frames_per_video=20, progress=False)
    assert m["game"] == "pong" and m["screen_size"] == [210, 160]
    assert load_split(tmp_path / "pong" / "raw", "test").shape == (2, 210, 160, 3)
    assert load_split(tmp_path / "pong", "test").shape == (2, 200, 160, 3)
    assert load_video(tmp_path / "pong" / "raw", 0).shape == (20, 210, 160, 3)
    assert load_manifest(tmp_path / "pong")["splits"] == {"train": [0], "val": [1], "test": [2]}
    with pytest.raises(UserError, match="no ALE ROM"):
        make_dataset(tmp_path / "x", "NoSuchGame", videos=1, frames_per_video=10, progress=False)


def test_generic_fit_learns_a_state(tmp_path):
    from learned_codec.palette.generic_fit import fit

    for g in ("pong", "breakout"):
        make_dataset(tmp_path / g, g, videos=3, frames_per_video=40, progress=False)
    opts = {"data": f"{tmp_path / 'pong'},{tmp_path / 'breakout'}", "out": str(tmp_path / "run"), "quiet": True}
    summary = fit(opts)
    assert summary["games"] == ["pong", "breakout"] and summary["image_frames"] > 0
    codec = GenericPaletteCodec.load(tmp_path / "run")
    frames = record("space_invaders", 99, 3)
    assert np.array_equal(codec.decode(codec.encode(frames)), frames)
    with pytest.raises(UserError):
        fit({"data": "", "out": str(tmp_path / "run2")})
