"""The palette codec: Lanczos inversion, lossless round trips, video mode, bad files."""
import json

import numpy as np
import pytest
from PIL import Image

from learned_codec.container.format import ContainerError, unpack
from learned_codec.models import default_config
from learned_codec.palette.codec import STILLS_PER_SECTION, PaletteCodec
from learned_codec.palette.resample import invert_resize, resize_height
from learned_codec.palette.fit import fit_model, learn_palette

SCREEN, FRAME = (42, 32), (40, 32)  # the data set's 210 -> 200 ratio, small
PALETTE = np.array([[0, 0, 0], [0, 28, 136], [228, 111, 111], [214, 214, 214], [110, 156, 66],
                    [198, 89, 179]], np.uint8)


def _screens(rng, n, moving=True):
    """A static maze with pellets and two sprites that move a little every frame."""
    h, w = SCREEN
    maze = np.zeros((h, w), np.uint8)
    maze[::6, :] = 1
    maze[:, ::8] = 1
    maze[3::6, 2::4] = 3
    out = np.repeat(maze[None], n, 0)
    for t in range(n):
        for k, colour in ((0, 2), (1, 5)):
            y = (5 + 3 * k + (2 * t if moving else 0)) % (h - 5)
            x = (4 + 9 * k + (t if moving else 0)) % (w - 4)
            out[t, y:y + 4, x:x + 3] = colour
        out[t, 3, 2:2 + 4 * (t % 5):4] = 0  # pellets eaten
    noise = rng.random(out.shape) < 0.002
    out[noise] = 4
    return out


def _render(screens):
    return resize_height(PALETTE[screens], FRAME[0])


@pytest.fixture(scope="module")
def codec():
    rng = np.random.default_rng(0)
    train = _screens(rng, 60)
    cfg = dict(default_config("palette"), frame_size=list(FRAME), screen_size=list(SCREEN),
               backgrounds=2)
    model, _ = fit_model(cfg, PALETTE, train, [0, 30], _screens(rng, 10))
    config = {"model": model.config, "weights_sha256": "ab" * 32}
    return PaletteCodec(model, config)


def test_resize_height_is_pillow_bit_for_bit():
    rng = np.random.default_rng(1)
    for shape in ((210, 160), (42, 32), (17, 5)):
        img = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
        for out_h in (200, 40, 11, shape[0] + 7):
            ref = np.asarray(Image.fromarray(img).resize((shape[1], out_h), Image.LANCZOS))
            assert np.array_equal(resize_height(img, out_h), ref)


def test_invert_resize_recovers_palette_screens():
    screens = _screens(np.random.default_rng(2), 8)
    found = invert_resize(_render(screens), PALETTE, SCREEN[0])
    assert np.array_equal(resize_height(PALETTE[found], FRAME[0]), _render(screens))


def test_learn_palette_finds_flat_colours():
    screens = np.zeros((4, 42, 32), np.uint8)
    screens[:, :20] = 1
    screens[:, 20:] = 3
    found = {tuple(c) for c in learn_palette(_render(screens))}
    assert found == {tuple(PALETTE[1]), tuple(PALETTE[3])}


@pytest.mark.parametrize("gop", [0, 1, 4])
def test_round_trip_is_exact(codec, gop):
    frames = _render(_screens(np.random.default_rng(3), 9))
    c = codec.with_gop(gop) if gop else codec
    data = c.encode(frames)
    assert np.array_equal(c.decode(data), frames)
    meta, sections = unpack(data)
    assert meta.mode == "palette" and meta.extra["gop"] == gop
    per = gop or STILLS_PER_SECTION
    assert len(sections) == -(-9 // per) and meta.extra["frames_per_section"] == per  # a section per group


def test_video_mode_beats_image_mode_and_keys_are_intra(codec):
    frames = _render(_screens(np.random.default_rng(4), 12))
    image = codec.encode(frames)
    video_codec = codec.with_gop(6)
    video = video_codec.encode(frames)
    assert len(video) < len(image)
    meta, sections = unpack(video)
    from learned_codec.palette.codec import _split_sections

    kinds = [f[0] & 3 for f in _split_sections(sections, meta)]
    assert len(sections) == 2 and kinds[0] == 0 and kinds[6] == 0  # key frames: intra
    assert any(k == 1 for k in kinds)                              # others use the previous screen
    assert video_codec.decode(video).shape == frames.shape


def test_frames_no_screen_explains_still_decode_exactly(codec):
    """A residual carries what the palette screen does not (any frame stays lossless)."""
    rng = np.random.default_rng(5)
    frames = _render(_screens(rng, 3))
    frames[1, 5:9, 5:9] = rng.integers(0, 256, (4, 4, 3))
    frames[2] = rng.integers(0, 256, frames[2].shape)
    data = codec.encode(frames)
    assert np.array_equal(codec.decode(data), frames)


def test_wrong_size_and_wrong_model_are_clear_errors(codec):
    from learned_codec.errors import UserError

    with pytest.raises(UserError, match="raw 42x32 or resized 40x32, not 20x32"):
        codec.encode(np.zeros((1, 20, 32, 3), np.uint8))
    data = codec.encode(_render(_screens(np.random.default_rng(6), 2)))
    other = PaletteCodec(codec.model, {**codec.config, "weights_sha256": "cd" * 32})
    with pytest.raises(ContainerError, match="needs weights"):
        other.decode(data)


def test_damaged_files_are_refused_or_exact(codec):
    """Truncations, bit flips and hostile sections: a ContainerError or the exact frames,
    never a crash, a hang or a wrong image."""
    from test_codec import assert_damaged_files_refused

    frames = _render(_screens(np.random.default_rng(7), 4))
    assert_damaged_files_refused(codec, codec.with_gop(2).encode(frames), cases=400)


def test_crafted_sections_with_valid_crcs_are_refused(codec):
    from learned_codec.container.format import pack

    from learned_codec.palette.codec import _split_sections

    frames = _render(_screens(np.random.default_rng(8), 2))
    meta, grouped = unpack(codec.encode(frames))
    sections = [bytes(p) for p in _split_sections(grouped, meta)]   # one still per section: valid too
    meta.extra["frames_per_section"] = 1
    np.testing.assert_array_equal(codec.decode(pack(meta, sections)), frames)
    head, body = sections[0][0], sections[0][1:]
    bad = [
        [bytes([head | 1]) + body, sections[1]],                   # first frame cannot be inter
        [bytes([head | (9 << 2)]) + body, sections[1]],            # no background 9
        [sections[0][:2], sections[1]],                            # screen data cut
        [bytes([head | 0x80]) + b"\xff\xff\xff\xff\xff", sections[1]],  # absurd length
        [bytes([head | 0x80, len(body)]) + body + b"\x07", sections[1]],  # a residual that is garbage
        [bytes([head | 0x80, len(body)]) + body, sections[1]],      # a residual announced, none there
        [sections[0] + b"\x07", sections[1]],                      # a byte after the screen data
    ]
    for secs in bad:
        with pytest.raises(ContainerError):
            codec.decode(pack(meta, secs))
    video_meta, video_sections = unpack(codec.with_gop(2).encode(frames))
    first = video_sections[0]
    for secs in ([first + b"\x00"], [first[:-1]], [first, first]):  # bytes after, cut, extra section
        with pytest.raises(ContainerError):
            codec.decode(pack(video_meta, secs))
    with pytest.raises(ContainerError, match="frames.per.section"):
        video_meta.extra["frames_per_section"] = 0
        codec.decode(pack(video_meta, video_sections))
    with pytest.raises(ContainerError, match="screen size"):
        meta.extra["screen_size"] = [41, 32]
        codec.decode(pack(meta, sections))


def test_fit_report_is_json(codec):
    rng = np.random.default_rng(9)
    cfg = dict(default_config("palette"), frame_size=list(FRAME), screen_size=list(SCREEN),
               backgrounds=2)
    _, report = fit_model(cfg, PALETTE, _screens(rng, 20), [0], _screens(rng, 6))
    json.dumps(report)
    assert set(report) == {"intra", "inter"}
    best = f"min_count={report['inter']['min_count']},beta={report['inter']['beta']}"
    assert report["inter"]["val_bytes_per_frame"] == report["inter"]["val_bytes_per_frame_by_setting"][best]


def _palette_data(root, rng):
    from data_tools.frames import save_manifest, save_split

    for split, n in (("train", 24), ("val", 6), ("test", 5)):
        save_split(root, split, PALETTE[_screens(rng, n)])  # screens as frames: 42 rows
    save_manifest(root, {"synthetic": True, "distinct_colours": {
        "raw_palette": [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in PALETTE]}})
    return root


def test_cli_train_encode_decode_palette(tmp_path, capsys):
    from learned_codec import cli

    data = _palette_data(tmp_path / "data", np.random.default_rng(10))
    run = tmp_path / "run"
    assert cli.main(["train", "--arch", "palette", "--data", str(data), "--out", str(run), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["palette_source"].startswith("data set manifest")
    assert (run / "model.safetensors").is_file() and (run / "config.json").is_file()
    # A second fit into the same folder needs --resume (and then reuses the cached screens).
    assert cli.main(["train", "--arch", "palette", "--data", str(data), "--out", str(run), "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert cli.main(["train", "--arch", "palette", "--data", str(data), "--out", str(run), "--quiet",
                     "--resume"]) == 0
    capsys.readouterr()
    for extra in ([], ["--video", "--gop", "3"]):
        out = tmp_path / "clip.lcf"
        assert cli.main(["encode", str(data), "-o", str(out), "--model", str(run), *extra]) == 0
        assert json.loads(capsys.readouterr().out)["bytes"] == out.stat().st_size
        dec = tmp_path / "dec"
        assert cli.main(["decode", str(out), "-o", str(dec), "--model", str(run)]) == 0
        capsys.readouterr()
        from data_tools.frames import load_split

        expected = load_split(data, "test")
        got = np.stack([np.asarray(Image.open(dec / f"frame_{i:05d}.png")) for i in range(5)])
        assert np.array_equal(got, expected)
    assert cli.main(["encode", str(data), "-o", str(tmp_path / "x.lcf"), "--model", str(run),
                     "--quant", "naive"]) == 2
    assert "takes no quantizer" in capsys.readouterr().err
    assert not (tmp_path / "x.lcf").exists()


def test_train_refuses_frames_that_are_not_palette_art(tmp_path, capsys):
    from data_tools.frames import save_manifest, save_split
    from learned_codec import cli

    rng = np.random.default_rng(11)
    for split in ("train", "val"):
        save_split(tmp_path, split, rng.integers(0, 256, (4, 40, 32, 3), dtype=np.uint8)
                   .repeat(1, 0))
    save_manifest(tmp_path, {"synthetic": True})
    blocks = rng.integers(0, 256, (4, 4, 4, 3), dtype=np.uint8).repeat(10, 1).repeat(8, 2)
    save_split(tmp_path, "train", blocks)  # 64 flat colours: more than a palette holds
    assert cli.main(["train", "--arch", "palette", "--data", str(tmp_path), "--out",
                     str(tmp_path / "run"), "--quiet"]) == 2
    assert "palette colours" in capsys.readouterr().err


def test_next_tables_fitted_on_consecutive_frames():
    rng = np.random.default_rng(12)
    far = _screens(rng, 40)[::3]   # frames far apart: the inter tables
    near = _screens(rng, 40)       # consecutive frames: the next tables
    cfg = dict(default_config("palette"), frame_size=list(FRAME), screen_size=list(SCREEN),
               backgrounds=2)
    model, report = fit_model(cfg, PALETTE, far, [0], far[:4], [0], (near, [0, 20], near[:8], [0]))
    assert {"intra", "inter", "next"} <= set(report) and report["next"]["train_frames"] == 38
    codec = PaletteCodec(model, {"model": model.config, "weights_sha256": "ef" * 32}, gop=8)
    frames = _render(_screens(rng, 10))
    assert np.array_equal(codec.decode(codec.encode(frames)), frames)


def test_progress_reports_every_frame(codec):
    frames = _render(_screens(np.random.default_rng(13), 7))
    seen = []
    c = codec.with_gop(3)
    c.progress = seen.append
    data = c.encode(frames)
    assert sum(seen) == 7
    seen.clear()
    c.decode(data)
    assert sum(seen) == 7


def test_raw_screens_are_coded_exactly_without_inversion(codec):
    """The screens themselves (what ALE returns), not their resize: the file says form raw."""
    screens = _screens(np.random.default_rng(8), 4)
    raw = PALETTE[screens]
    for gop in (0, 2):
        c = codec.with_gop(gop) if gop else codec
        data = c.encode(raw)
        meta, _ = unpack(data)
        assert meta.extra["form"] == "raw" and (meta.height, meta.width) == SCREEN
        assert np.array_equal(c.decode(data), raw)
    # the same screens resized code to about the same bytes: the screen is what is coded
    resized = codec.encode(_render(screens))
    assert "form" not in unpack(resized)[0].extra
    assert abs(len(resized) - len(codec.encode(raw))) < 0.25 * len(resized)


def test_frames_the_model_cannot_explain_cost_no_more_than_webp_lossless(codec):
    """Photos / noise: the generic path (WebP lossless, exact) is kept when it is shorter."""
    from learned_codec.codecs.baselines import webp_lossless

    rng = np.random.default_rng(9)
    yy, xx = np.mgrid[:FRAME[0], :FRAME[1]]
    smooth = np.stack([yy * 6, xx * 7, (yy + xx) * 3], -1).astype(np.uint8)
    noise = rng.integers(0, 256, (FRAME[0], FRAME[1], 3), dtype=np.uint8)
    frames = np.stack([smooth, noise, _render(_screens(rng, 1))[0]])
    for gop in (0, 2):
        c = codec.with_gop(gop) if gop else codec
        data = c.encode(frames)
        assert np.array_equal(c.decode(data), frames)
        webp = sum(len(webp_lossless().encode_frame(f)) for f in frames[:2])
        header = len(codec.encode(frames[2:]))  # the emulator frame and the container
        assert len(data) <= 1.05 * webp + header


def test_a_generic_frame_is_never_predicted_from(codec):
    rng = np.random.default_rng(10)
    frames = np.concatenate([rng.integers(0, 256, (1, FRAME[0], FRAME[1], 3), dtype=np.uint8),
                             _render(_screens(rng, 1))])
    data = codec.with_gop(2).encode(frames)
    meta, sections = unpack(data)
    from learned_codec.palette.codec import GENERIC, _split_sections

    kinds = [p[0] & 3 for p in _split_sections(sections, meta)]
    assert kinds == [GENERIC, 0]


def test_a_group_of_pictures_never_reads_the_one_before(codec):
    # groups decode in parallel: a predicted frame at a group's start (which the encoder never
    # writes) is refused, not decoded from whatever the other thread has written so far
    from learned_codec.container.format import pack
    from learned_codec.container.varint import read_uvarint, write_uvarint
    from learned_codec.palette.codec import INTER

    frames = _render(_screens(np.random.default_rng(11), 4))
    video = codec.with_gop(2)
    meta, sections = unpack(video.encode(frames))
    assert np.array_equal(video.decode(pack(meta, sections)), frames)
    n, i = read_uvarint(sections[1], 0, "test")
    first = sections[1][i:i + n]
    crafted = write_uvarint(n) + bytes([(first[0] & ~3) | INTER]) + first[1:] + sections[1][i + n:]
    with pytest.raises(ContainerError, match="bad frame type"):
        video.decode(pack(meta, [sections[0], crafted]))
