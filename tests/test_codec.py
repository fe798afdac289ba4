"""Learned codecs: model + quantizer + container, through the API and the CLI."""
import json

import numpy as np
import pytest
import torch

from learned_codec import cli
from learned_codec.models.checkpoint import save_best, save_config, weights_sha256
from learned_codec.codecs import load_codecs, open_codec, parse_codec_spec
from learned_codec.codecs.learned import LearnedCodec
from learned_codec.container.format import ContainerError
from learned_codec.models import build_model
from learned_codec.models.registry import default_config

H, W = 200, 160


def _frames(n=2, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (1, H, W, 3), dtype=np.uint8)
    return np.repeat(base, n, axis=0) // (1 + np.arange(n)[:, None, None, None]).astype(np.uint8)


def _codec(arch="conv4", quant="naive", seed=0, **params):
    torch.manual_seed(seed)
    cfg = default_config(arch)
    model = build_model(cfg).eval()
    sha = weights_sha256(model.state_dict())
    return LearnedCodec(model, {"model": cfg, "weights_sha256": sha}, quant=quant, quant_params=params)


@pytest.fixture(scope="module")
def conv4_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    cfg = default_config("conv4")
    model = build_model(cfg)
    save_config(run, {"model": cfg, "quant": "naive"})
    save_best(run, model.state_dict(), cfg, {"epoch": 0})
    return run


@pytest.mark.parametrize("quant, params", [("none", {}), ("naive", {}), ("affine", {}),
                                           ("kmeans", {"k": 64}), ("kmeans", {"k": 32, "dim": 4})])
def test_round_trip_matches_the_model_on_the_dequantized_code(quant, params):
    codec = _codec(quant=quant, **params)
    frames = _frames(3)
    data = codec.encode(frames)
    out = codec.decode(data)
    assert out.shape == frames.shape and out.dtype == np.uint8
    # The decoder's result equals the model run on the quantizer's own reconstruction.
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        z = codec.model.encode(x)
    payloads, fp = codec.quantizer.encode(z)
    z_hat = codec.quantizer.decode(payloads, fp, tuple(z.shape[1:]))
    with torch.no_grad():
        ref = codec.model.decode(z_hat)[..., :H, :W].clamp(0, 1).mul(255).round().to(torch.uint8)
    np.testing.assert_array_equal(out, ref.permute(0, 2, 3, 1).numpy())
    if quant == "none":  # lossless code: same as the unquantized model
        with torch.no_grad():
            direct = codec.model.decode(z)[..., :H, :W].clamp(0, 1).mul(255).round().to(torch.uint8)
        np.testing.assert_array_equal(out, direct.permute(0, 2, 3, 1).numpy())


def test_quantized_codes_are_smaller_than_float_codes():
    frames = _frames(2)
    sizes = {q: len(_codec(quant=q).encode(frames)) for q in ("none", "naive")}
    assert sizes["naive"] < sizes["none"] / 2


def test_other_weights_are_refused():
    data = _codec(seed=0).encode(_frames(1))
    with pytest.raises(ContainerError, match="needs weights"):
        _codec(seed=1).decode(data)
    with pytest.raises(ContainerError, match="encoded with a conv4 model"):
        _codec(arch="conv5").decode(data)


def test_damaged_files_are_refused():
    codec = _codec()
    data = codec.encode(_frames(2))
    for bad in (data[:-5], data[:40], data[:-10] + bytes([data[-10] ^ 4]) + data[-9:]):
        with pytest.raises(ContainerError):
            codec.decode(bad)


def test_spec_parsing():
    assert parse_codec_spec("runs/a:kmeans:k=64,dim=2") == ("runs/a", "kmeans", {"k": 64, "dim": 2})
    assert parse_codec_spec("conv5") == ("conv5", None, {})


def test_load_codecs_uses_trained_quantizer(conv4_run):
    (codec,) = load_codecs([str(conv4_run)])
    assert codec.quant == "naive" and codec.arch == "conv4"


def test_cli_encode_decode_round_trip(conv4_run, tmp_path, capsys):
    from PIL import Image

    src = tmp_path / "frames"
    src.mkdir()
    for i, f in enumerate(_frames(2)):
        Image.fromarray(f).save(src / f"{i}.png")
    out = tmp_path / "clip.lcf"
    assert cli.main(["encode", str(src), "-o", str(out), "--model", str(conv4_run)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bytes"] == out.stat().st_size
    assert summary["bpp"] == pytest.approx(8 * out.stat().st_size / (2 * H * W))
    dec = tmp_path / "dec"
    assert cli.main(["decode", str(out), "-o", str(dec), "--model", str(conv4_run)]) == 0
    # the decoded frames keep the input's file names (stored in the file's metadata)
    assert sorted(p.name for p in dec.iterdir()) == ["0.png", "1.png"]
    codec = LearnedCodec.load(conv4_run)
    expected = codec.decode(out.read_bytes())
    np.testing.assert_array_equal(np.asarray(Image.open(dec / "1.png")), expected[1])


def test_cli_errors_are_one_line_and_leave_nothing(conv4_run, tmp_path, capsys):
    bad = tmp_path / "bad.lcf"
    bad.write_bytes(b"not a codec file")
    out = tmp_path / "never.png"
    assert cli.main(["decode", str(bad), "-o", str(out), "--model", str(conv4_run)]) == 2
    assert "wrong magic" in capsys.readouterr().err
    assert not out.exists()
    assert cli.main(["encode", str(tmp_path / "missing"), "-o", str(tmp_path / "x.lcf"),
                     "--model", str(conv4_run)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x.lcf").exists()
    assert cli.main(["encode", str(bad), "-o", str(tmp_path / "x.lcf"), "--model",
                     str(tmp_path / "no-model")]) == 2
    assert "error" in capsys.readouterr().err


def test_cli_video_mode_round_trip_and_vector_kmeans(conv4_run, tmp_path, capsys):
    from PIL import Image

    src = tmp_path / "frames"
    src.mkdir()
    for i, f in enumerate(_frames(3)):
        Image.fromarray(f).save(src / f"{i}.png")
    for extra in (["--video", "--gop", "2"], ["--quant", "kmeans", "--kmeans-k", "16", "--kmeans-dim", "2"]):
        out = tmp_path / "clip.lcf"
        assert cli.main(["encode", str(src), "-o", str(out), "--model", str(conv4_run), *extra]) == 0
        capsys.readouterr()
        dec = tmp_path / "clip.mp4"
        assert cli.main(["decode", str(out), "-o", str(dec), "--model", str(conv4_run)]) == 0
        assert json.loads(capsys.readouterr().out)["frames"] == 3
        assert dec.stat().st_size > 0


def test_fuzzed_learned_files_never_crash_or_decode_wrong():
    """Thousands of damaged files: each is refused, or (undamaged) decodes to the original."""
    torch.manual_seed(0)
    cfg = {**default_config("conv4"), "frame_size": [16, 16]}
    model = build_model(cfg).eval()
    codec = LearnedCodec(model, {"model": cfg, "weights_sha256": weights_sha256(model.state_dict())},
                         quant="affine")
    frames = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    assert_damaged_files_refused(codec, codec.encode(frames), cases=2000)


def assert_damaged_files_refused(codec, good, cases, seed=0):
    """`cases` damaged copies of the file `good` (truncated, bit-flipped, overwritten,
    random payloads after the magic): each is refused with a ContainerError, or is
    `good` itself and decodes to what `good` decodes to."""
    import random

    expected = codec.decode(good)
    rng = random.Random(seed)
    for case in range(cases):
        blob = bytearray(good)
        kind = case % 4
        if kind == 0:
            blob = blob[:rng.randrange(len(blob))]
        elif kind == 1:
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(blob))
                blob[i] ^= 1 << rng.randrange(8)
        elif kind == 2:
            i = rng.randrange(len(blob))
            blob[i:i + 4] = rng.randbytes(4)
        else:
            blob = bytearray(good[:22] + rng.randbytes(rng.randrange(1, 300)))
        try:
            out = codec.decode(bytes(blob))
        except ContainerError:
            continue
        assert bytes(blob) == good
        np.testing.assert_array_equal(out, expected)


def test_every_shipped_model_codes_frames_and_binds_its_weights():
    from learned_codec.models.checkpoint import SHIPPED_WEIGHTS_DIR

    names = sorted(p.name for p in SHIPPED_WEIGHTS_DIR.iterdir() if (p / "model.safetensors").is_file())
    assert "conv5" in names  # the default of encode / decode / the main job
    frames = np.random.default_rng(0).integers(0, 256, (2, 200, 160, 3), dtype=np.uint8)
    files = {}
    for name in names:
        codec = open_codec(name)
        files[name] = codec.encode(frames)
        out = codec.decode(files[name])
        assert out.shape == frames.shape and out.dtype == np.uint8
        if codec.lossless:
            np.testing.assert_array_equal(out, frames)
    for name in names:  # a file made with one shipped model is refused by every other
        for other in names:
            if other != name:
                with pytest.raises(ContainerError):
                    open_codec(other).decode(files[name])
