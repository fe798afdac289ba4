"""Every classic codec round-trips a frame and reports its exact file size."""
import numpy as np
import pytest

from learned_codec.codecs import baselines as baselines
from learned_codec.codecs.base import CodecUnavailable, ImageCodec, VideoCodec
from learned_codec.eval.metrics import psnr


def pacman_like_frames(n=2, h=48, w=40):
    """Flat colours, thin lines and dots: the look of the Pac-Man maze."""
    rng = np.random.default_rng(1)
    frames = np.zeros((n, h, w, 3), np.uint8)
    frames[..., 2] = 130
    frames[:, ::8, :] = (228, 111, 111)
    frames[:, :, ::10] = (228, 111, 111)
    for i in range(n):
        y, x = rng.integers(2, h - 8), rng.integers(2, w - 8)
        frames[i, y:y + 6, x:x + 6] = (210, 210, 64)  # a sprite that moves
    return frames


FRAMES = pacman_like_frames()
ONE_POINT = {name: [90] for name in ("jpeg", "jpeg420", "webp", "avif")} | {"h264": [18], "av1": [30]}


def all_codecs():
    codecs, missing = baselines.make_baselines(baselines.ALL_BASELINES, ONE_POINT)
    return codecs, missing


CODECS, MISSING = all_codecs()


def test_every_baseline_is_available_or_reported_missing():
    names = {c.name for c in CODECS} | {m["codec"] for m in MISSING}
    assert names == set(baselines.ALL_BASELINES)
    for m in MISSING:
        assert m["reason"]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.label)
def test_round_trip_and_exact_size(codec, tmp_path):
    data = codec.encode(FRAMES)
    decoded = codec.decode(data)
    assert decoded.shape == FRAMES.shape and decoded.dtype == np.uint8
    if codec.lossless:
        np.testing.assert_array_equal(decoded, FRAMES)
    else:
        # 4:2:0 chroma smears one-pixel coloured lines: those two stay low on pixel art
        assert psnr(FRAMES, decoded) > (15 if codec.name in ("jpeg420", "webp") else 30)
    # the size the harness counts is the size of a real file
    if isinstance(codec, ImageCodec):
        files = [codec.encode_frame(f) for f in FRAMES]
        for i, f in enumerate(files):
            path = tmp_path / f"frame{i}.{codec.pil_format.lower()}"
            path.write_bytes(f)
            assert path.stat().st_size == len(f)
            np.testing.assert_array_equal(codec.decode_frame(path.read_bytes()), decoded[i])
        # the multi-frame bytes are the per-frame files behind a 4 + 4 n byte length table
        assert len(data) == sum(map(len, files)) + 4 + 4 * len(files)
    else:
        assert isinstance(codec, VideoCodec)
        path = tmp_path / "seq.bin"
        path.write_bytes(data)
        assert path.stat().st_size == len(data)


def test_avif_is_444():
    avif = next((c for c in CODECS if c.name == "avif"), None)
    if avif is None:
        pytest.fail(f"AVIF missing here: {MISSING}")
    assert avif.save_options["subsampling"] == "4:4:4"
    # a pure-red 1-pixel line survives 4:4:4 but would be smeared by 4:2:0
    frame = np.zeros((32, 32, 3), np.uint8)
    frame[:, 15] = (255, 0, 0)
    out = avif.decode_frame(avif.encode_frame(frame))
    assert out[:, 15, 0].mean() > 200 and out[:, 14, 0].mean() < 60


def test_missing_encoder_is_reported_not_dropped(monkeypatch):
    monkeypatch.setattr(baselines, "ffmpeg_encoders", lambda: frozenset({"libx264"}))
    codecs, missing = baselines.make_baselines(["h264", "av1"], {"h264": [20], "av1": [30, 40]})
    assert [c.label for c in codecs] == ["h264 crf=20"]
    assert [(m["codec"], m["setting"]) for m in missing] == [("av1", "crf=30"), ("av1", "crf=40")]
    assert "libaom-av1" in missing[0]["reason"]


def test_missing_pillow_plugin_is_reported(monkeypatch):
    from PIL import features

    real = features.check
    monkeypatch.setattr(features, "check", lambda f: False if f == "avif" else real(f))
    codecs, missing = baselines.make_baselines(["avif", "png"], {"avif": [50]})
    assert [c.name for c in codecs] == ["png"]
    assert missing[0]["codec"] == "avif" and "without avif" in missing[0]["reason"]
    with pytest.raises(CodecUnavailable):
        baselines.avif(50).check_available()


def test_unknown_baseline_name():
    with pytest.raises(ValueError, match="jpg"):
        baselines.parse_baseline_names("jpeg,jpg")
