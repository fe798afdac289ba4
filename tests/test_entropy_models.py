"""Entropy-coded models (factorized, hyperprior): shapes, rate estimate vs real bytes,
compress/decompress, training, the `entropy` quantizer of LearnedCodec, determinism.

Tiny models (N=8, M=12) on 200x160 blocky frames keep the suite fast on 2 CPU cores.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from learned_codec.models import checkpoint as ckpt
from learned_codec.training import run_folder
from learned_codec.cli import main
from learned_codec.codecs.learned import LearnedCodec
from learned_codec.container.format import ContainerError, unpack
from learned_codec.models import build_model, frames_to_tensor
from learned_codec.models.fixed_point import ACT_BITS, IntegerHyperSynthesis, _int_conv2d, _zero_stuff
from learned_codec.training.loop import train

from test_train import make_frames, opts

REPO = Path(__file__).resolve().parents[1]
ARCHS = ("factorized", "hyperprior")
TINY = {"N": 8, "M": 12}
H, W = 200, 160


def blocky_frames(n, seed=0, size=(H, W)):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (n, -(-size[0] // 20), -(-size[1] // 20), 3), dtype=np.uint8)
    return small.repeat(20, axis=1).repeat(20, axis=2)[:, :size[0], :size[1]].copy()


def trained_tiny(arch, steps=25, seed=0):
    """A tiny model trained a few steps for rate + distortion (and its quantiles), with
    CDF tables; quantiles refined by bisection so that the CDF ranges fit the latents."""
    torch.manual_seed(seed)
    model = build_model({"arch": arch, **TINY, "lmbda": 0.01})
    x = frames_to_tensor(blocky_frames(4, seed, size=(96, 80)))  # small crops: fast, same statistics
    opt = torch.optim.Adam([{"params": [p for n, p in model.named_parameters() if "quantiles" not in n]},
                            {"params": model.aux_parameters(), "lr": 1e-2}], lr=3e-3)
    model.train()
    for _ in range(steps):
        out = model(x)
        bpp = sum(torch.log(l).sum() for l in out["likelihoods"].values()) / (-np.log(2) * x[:, 0].numel())
        loss = bpp + model.lmbda * 255 ** 2 * F.mse_loss(out["x_hat"], x) + model.aux_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.update(force=True, update_quantiles=True)
    return model.eval()


@pytest.fixture(scope="module")
def models():
    return {arch: trained_tiny(arch) for arch in ARCHS}


def save_run(model, folder):
    config = {"model": model.config, "quant": "entropy"}
    ckpt.save_config(folder, config)
    ckpt.save_best(folder, model.state_dict(), model.config, {"epoch": 0})
    return folder


@pytest.fixture(scope="module")
def runs(models, tmp_path_factory):
    return {arch: save_run(m, tmp_path_factory.mktemp(arch)) for arch, m in models.items()}


# ---- shapes -------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("size", [(200, 160), (37, 51)])
def test_forward_shapes_and_padding(arch, size):
    torch.manual_seed(0)
    model = build_model({"arch": arch, **TINY})
    x = torch.rand(2, 3, *size)
    out = model(x)
    y_shape = (12, -(-size[0] // 16), -(-size[1] // 16))  # padded to 16 only
    assert out["x_hat"].shape == x.shape and out["code"].shape == (2, *y_shape)
    assert out["likelihoods"]["y"].shape == (2, *y_shape)
    assert model.code_shape(*size) == y_shape
    if arch == "hyperprior":
        z_hw = model.hyper_shape(y_shape[1:])
        assert out["likelihoods"]["z"].shape == (2, 8, *z_hw)
        assert size != (200, 160) or z_hw == (4, 3)  # 13x10 -> 7x5 -> 4x3, h_s 16x12 cropped
    model.eval()
    with torch.no_grad():
        x_hat = model(x)["x_hat"]
    assert float(x_hat.min()) >= 0 and float(x_hat.max()) <= 1


def test_default_sizes():
    for arch in ARCHS:
        cfg = build_model({"arch": arch}).config
        assert (cfg["N"], cfg["M"]) == (64, 96) and cfg["lmbda"] > 0


# ---- the integer hyper-synthesis ------------------------------------------------------

def test_integer_convolutions_are_exact():
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(-1000, 1000, (1, 5, 4, 3), generator=gen)
    w = torch.randint(-1000, 1000, (5, 6, 5, 5), generator=gen)  # ConvT weight: in x out x k x k
    b = torch.randint(-1000, 1000, (6,), generator=gen)
    layer = torch.nn.ConvTranspose2d(5, 6, 5, stride=2, padding=2, output_padding=1).double()
    with torch.no_grad():
        layer.weight.copy_(w.double())
        layer.bias.copy_(b.double())
        ref = layer(a.double())
    wc = w.flip(2, 3).transpose(0, 1).contiguous()
    got = _int_conv2d(_zero_stuff(a, 2), wc, b, (1, 1), (2, 3, 2, 3))
    assert got.dtype == torch.int64 and torch.equal(got.double(), ref)
    w2 = torch.randint(-1000, 1000, (4, 5, 3, 3), generator=gen)
    ref2 = F.conv2d(a.double(), w2.double(), stride=2, padding=1)
    assert torch.equal(_int_conv2d(a, w2, torch.zeros(4, dtype=torch.long), (2, 2), (1, 1, 1, 1)).double(), ref2)


def test_integer_hyper_synthesis_tracks_float_and_ignores_threads(models):
    model = models["hyperprior"]
    z_hat = torch.round(torch.randn(3, 8, 4, 3) * 4)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = IntegerHyperSynthesis(model.h_s)(z_hat)
        torch.set_num_threads(2)
        two = IntegerHyperSynthesis(model.h_s)(z_hat)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)
    with torch.no_grad():
        ref = model.h_s.double()(z_hat.double())
    model.float()
    err = (one.double() / 2 ** ACT_BITS - ref).abs()
    assert float(err.max()) < 1e-3 * max(1.0, float(ref.abs().max()))


# ---- rate and round trips -------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS)
def test_estimated_bits_match_real_bytes(models, arch):
    model = models[arch]
    x = frames_to_tensor(blocky_frames(3, seed=7))
    with torch.no_grad():
        out = model(x)
        est_bits = sum(float(-torch.log2(l).sum()) for l in out["likelihoods"].values())
        strings = model.compress(x)["strings"]
    real_bits = 8 * sum(len(s) for group in strings for s in group)
    n_strings = sum(len(group) for group in strings)
    # rANS costs ~ the model's information content, plus a flushed state per string
    # and the fixed 16-bit CDF precision.
    assert abs(real_bits - est_bits) <= 0.1 * est_bits + 64 * n_strings, (real_bits, est_bits)


@pytest.mark.parametrize("arch", ARCHS)
def test_decompress_equals_forward_quantized_reconstruction(models, arch):
    model = models[arch]
    x = frames_to_tensor(blocky_frames(2, seed=3))
    with torch.no_grad():
        expected = model(x)["x_hat"]  # eval: y rounded ("dequantize" mode)
        c = model.compress(x)
        args = (c["strings"], c["shape"]) + ((c["y_shape"],) if arch == "hyperprior" else ())
        got = model.decompress(*args)[..., :H, :W]
    assert torch.equal(got, expected)


@pytest.mark.parametrize("arch", ARCHS)
def test_learned_codec_entropy_round_trip(runs, models, arch, tmp_path):
    codec = LearnedCodec.load(runs[arch])  # the run's quant: entropy
    assert codec.quant == "entropy"
    frames = blocky_frames(3, seed=5)
    data = codec.encode(frames)
    meta, sections = unpack(data)
    assert meta.quantizer == {"method": "entropy"} and len(sections) == 3
    out = codec.decode(data)
    threads = torch.get_num_threads()
    try:  # the decoder synthesizes one frame at a time on one thread (codecs/learned.py)
        torch.set_num_threads(1)
        with torch.no_grad():
            ref = torch.cat([models[arch](frames_to_tensor(frames[i:i + 1]))["x_hat"] for i in range(len(frames))])
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(out, ref.mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    assert codec.encode(frames) == data  # encoding twice: the same bytes
    est_bytes = float(np.mean([len(s) for s in sections]))
    assert 0 < est_bytes < frames[0].nbytes / 4
    # A fresh codec (the file says "entropy") decodes it too; damaged payloads are refused.
    assert np.array_equal(LearnedCodec.load(runs[arch], quant="none").decode(data), out)
    if arch == "hyperprior":
        from learned_codec.quant.entropy import _split_hyperprior_payload

        with pytest.raises(ContainerError):
            _split_hyperprior_payload(b"\xff\xff\xff\xff\xff\x01")
        with pytest.raises(ContainerError):
            _split_hyperprior_payload(b"\x20" + bytes(10))


@pytest.mark.parametrize("arch", ARCHS)
def test_crafted_rans_strings_with_valid_crcs_are_refused(runs, arch):
    # CRCs catch random damage; a file rebuilt with hostile rANS strings and correct
    # CRCs reaches the entropy decoder, which must refuse it (CompressAI's own decoder
    # reads past the string or loops on an escape length taken from the data).
    from learned_codec.container.varint import write_uvarint as _uvarint
    from learned_codec.container.format import pack

    codec = LearnedCodec.load(runs[arch])
    meta, sections = unpack(codec.encode(blocky_frames(2, seed=3)))
    for hostile in (b"\xff" * 64, b"\x00" * 8, bytes(range(256)) * 4):
        if arch == "hyperprior":
            hostile = _uvarint(len(hostile)) + hostile + hostile
        with pytest.raises(ContainerError, match="does not decode"):
            codec.decode(pack(meta, [hostile] * len(sections)))


def mostly_static_frames(n, seed=0):
    """A blocky scene in which one 20x20 block changes per frame (Pac-Man-like)."""
    frames = np.repeat(blocky_frames(1, seed=seed), n, axis=0)
    rng = np.random.default_rng(seed + 1)
    for t in range(1, n):
        frames[t] = frames[t - 1]
        r, c = rng.integers(0, H // 20), rng.integers(0, W // 20)
        frames[t, 20 * r:20 * r + 20, 20 * c:20 * c + 20] = rng.integers(0, 256, 3, dtype=np.uint8)
    return frames


@pytest.mark.parametrize("arch", ARCHS)
def test_symbols_are_what_the_strings_code(runs, arch):
    codec = LearnedCodec.load(runs[arch])
    x = frames_to_tensor(blocky_frames(2, seed=4))
    payloads, symbols = codec.quantizer.encode_with_symbols(x)
    assert symbols.dtype == torch.int32
    assert torch.equal(codec.quantizer.decode_symbols(payloads, codec.code_shape(H, W)), symbols)


@pytest.mark.parametrize("arch", ARCHS)
def test_entropy_video_mode_decodes_to_the_image_mode_frames_in_fewer_bytes(runs, arch, tmp_path, capsys):
    from learned_codec.codecs.video import EntropyVideoCodec, INTER8, INTRA

    image = LearnedCodec.load(runs[arch])
    frames = mostly_static_frames(9, seed=2)
    intra = image.encode(frames)
    video = EntropyVideoCodec(image, gop=4)
    data = video.encode(frames)
    np.testing.assert_array_equal(video.decode(data), image.decode(intra))
    meta, sections = unpack(data)
    assert meta.mode == "entropy-delta" and meta.extra["gop"] == 4
    _, intra_sections = unpack(intra)
    # every frame is at most its image-mode payload plus the flag byte; key frames are intra
    assert all(len(v) <= len(i) + 1 for v, i in zip(sections, intra_sections))
    assert all(sections[t][0] == INTRA for t in (0, 4, 8))
    assert any(p[0] == INTER8 for p in sections)  # some frames are predicted (small changes: int8)
    assert sum(map(len, sections)) < sum(map(len, intra_sections))
    # the CLI: encode --video picks this mode, decode reads it from the file
    from PIL import Image

    (tmp_path / "in").mkdir()
    for t, f in enumerate(frames):
        Image.fromarray(f).save(tmp_path / "in" / f"{t:03d}.png")
    run = str(runs[arch])
    assert main(["encode", str(tmp_path / "in"), "--model", run, "--video", "--gop", "4",
                 "-o", str(tmp_path / "v.lcf")]) == 0
    assert unpack((tmp_path / "v.lcf").read_bytes())[1] == sections
    assert main(["decode", str(tmp_path / "v.lcf"), "--model", run, "-o", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    decoded = [np.asarray(Image.open(p)) for p in sorted((tmp_path / "out").glob("*.png"))]
    np.testing.assert_array_equal(np.stack(decoded), video.decode(data))


def test_damaged_entropy_delta_files_are_refused(runs):
    from learned_codec.codecs.video import EntropyVideoCodec
    from test_codec import assert_damaged_files_refused

    video = EntropyVideoCodec(LearnedCodec.load(runs["hyperprior"]), gop=3)
    assert_damaged_files_refused(video, video.encode(mostly_static_frames(4, seed=5)), cases=400)


def test_entropy_video_files_with_bad_prediction_are_refused(runs):
    from learned_codec.container.format import pack
    from learned_codec.codecs.video import EntropyVideoCodec, INTER, INTRA

    video = EntropyVideoCodec(LearnedCodec.load(runs["hyperprior"]), gop=4)
    meta, sections = unpack(video.encode(mostly_static_frames(5, seed=3)))
    inter = next(p for p in sections if p[0] != INTRA)
    cases = {"key frame": [inter] + sections[1:],                       # frame 0 predicted
             "bad entropy-delta": [bytes([7]) + sections[0][1:]] + sections[1:],
             "payload": sections[:1] + [bytes([INTER]) + b"\x02" + b"\x00" * 5] + sections[2:]}
    for message, bad in cases.items():
        with pytest.raises(ContainerError, match=message):
            video.decode(pack(meta, bad))
    with pytest.raises(ValueError, match="needs quantizer 'entropy'"):
        EntropyVideoCodec(LearnedCodec.load(runs["hyperprior"], quant="none"))


@pytest.mark.parametrize("arch", ARCHS)
def test_latents_beyond_the_coders_range_are_refused_not_hung(arch):
    # CompressAI's encoder loops forever on escapes >= 2^28: broken weights that make
    # such latents get an error before it is called.
    model = trained_tiny(arch, steps=1)
    with torch.no_grad():
        model.g_a[-1].bias.fill_(1e9)
    with pytest.raises(ValueError, match="beyond the rANS coder's range"):
        model.compress(frames_to_tensor(blocky_frames(1)))
    # through the codec: a user error (one line, exit 2 in the CLI), no hang
    from learned_codec.quant.entropy import EntropyCoding
    from learned_codec.errors import UserError

    with pytest.raises(UserError, match="cannot entropy-code"):
        EntropyCoding(model).encode(frames_to_tensor(blocky_frames(1)))


def test_entropy_quantizer_needs_an_entropy_model():
    from learned_codec.models.registry import default_config

    cfg = default_config("conv4")
    with pytest.raises(ValueError, match="entropy-coded"):
        LearnedCodec(build_model(cfg), {"model": cfg, "weights_sha256": "0" * 64}, quant="entropy")


def test_cdf_tables_load_into_a_model_with_other_tables(models):
    src = models["hyperprior"]
    dst = build_model(src.config)
    dst.update(force=True)  # tables of other sizes than src's
    dst.load_state_dict(src.state_dict())
    for name, t in src.state_dict().items():
        assert torch.equal(dst.state_dict()[name], t), name


# ---- determinism across thread counts (separate processes) ----------------------------

CODER_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, torch
    torch.set_num_threads(int(sys.argv[1]))
    from learned_codec.codecs.learned import LearnedCodec
    run, frames_path, mode, path = sys.argv[2:6]
    codec = LearnedCodec.load(run)
    if mode in ("encode", "encode+decode"):
        open(path, "wb").write(codec.encode(np.load(frames_path)))
    if mode in ("decode", "encode+decode"):
        other = sys.argv[6]  # a file written by another process
        np.save(other.replace(".lcf", ".npy"), codec.decode(open(other, "rb").read()))
""")


def run_coder(threads, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run([sys.executable, "-c", CODER_SCRIPT, str(threads), *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_files_decode_identically_across_thread_counts(runs, tmp_path):
    run = runs["hyperprior"]
    frames = blocky_frames(4, seed=11)
    np.save(tmp_path / "frames.npy", frames)
    # a.lcf encoded with 1 thread; b.lcf encoded with 2 threads, which also decode a.lcf
    run_coder(1, run, tmp_path / "frames.npy", "encode", tmp_path / "a.lcf")
    run_coder(2, run, tmp_path / "frames.npy", "encode+decode", tmp_path / "b.lcf", tmp_path / "a.lcf")
    a = (tmp_path / "a.lcf").read_bytes()
    assert (tmp_path / "b.lcf").read_bytes() == a
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        here = LearnedCodec.load(run).decode(a)  # decoded with 1 thread in this process
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), here)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU-encode / CPU-decode needs a CUDA device")
@pytest.mark.parametrize("arch", ARCHS)
def test_gpu_encoded_files_decode_on_the_cpu(runs, arch):
    # The CDF indexes come from the integer hyper-synthesis, so a GPU encoder's file
    # decodes on the CPU in lock step: the same image up to a pixel's rounding (the
    # float synthesis differs by last bits across devices), never a desynchronised stream.
    frames = blocky_frames(4, seed=13)
    gpu = LearnedCodec.load(runs[arch], device="cuda")
    cpu = LearnedCodec.load(runs[arch], device="cpu")
    data = gpu.encode(frames)
    on_gpu, on_cpu = gpu.decode(data), cpu.decode(data)
    assert np.abs(on_gpu.astype(int) - on_cpu.astype(int)).max() <= 1
    # and it is as good a picture as the CPU's own encoding gives (a desynchronised
    # stream would decode to noise)
    mse = lambda a: float(np.mean((a.astype(float) - frames.astype(float)) ** 2))
    assert mse(on_cpu) <= 1.05 * mse(cpu.decode(cpu.encode(frames))) + 1.0


# ---- training ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_frames(tmp_path_factory.mktemp("frames"))


@pytest.mark.parametrize("arch", ARCHS)
def test_two_step_train_writes_loadable_coding_checkpoint(arch, data, tmp_path):
    out = tmp_path / "run"
    summary = train(opts(data, out, arch, lmbda=0.05, model_options=TINY))
    assert summary["steps"] == 2 and summary["complete"] and summary["quant"] == "entropy"
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["loss"] == "rate-distortion" and config["model"]["lmbda"] == 0.05
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert row["val_bpp_est"] > 0 and np.isfinite(row["val_rd_loss"])
    assert summary["test"]["test_bpp_est"] > 0
    model, loaded = ckpt.load_model(out)
    assert model.has_cdf_tables() and loaded["weights_sha256"] == summary["weights_sha256"]
    codec = LearnedCodec.load(out)
    frames = np.load(data / "images" / "test.npy")
    assert codec.decode(codec.encode(frames)).shape == frames.shape


def test_cli_lmbda_and_quant_checks(data, tmp_path, capsys):
    base = ["train", "--data", str(data), "--device", "cpu", "--quiet"]
    assert main(base + ["--arch", "conv4", "--lmbda", "0.1", "--out", str(tmp_path / "a")]) == 2
    assert "--lmbda applies to" in capsys.readouterr().err
    assert main(base + ["--arch", "hyperprior", "--quant", "naive", "--out", str(tmp_path / "b")]) == 2
    assert "entropy-coded" in capsys.readouterr().err
    assert main(base + ["--arch", "conv4", "--quant", "entropy", "--out", str(tmp_path / "c")]) == 2
    assert "needs an entropy-coded arch" in capsys.readouterr().err


def test_kill_and_resume_gives_the_same_weights(data, tmp_path):
    kw = {"epochs": 2, "batch_size": 2, "frames_per_epoch": 4, "model_options": TINY,  # 2 steps an epoch
          "test": False}
    full = train(opts(data, tmp_path / "full", "hyperprior", **kw))
    stopped = train(opts(data, tmp_path / "killed", "hyperprior", max_steps=3, **kw))
    assert full["steps"] == 4 and stopped["steps"] == 3 and not stopped["complete"]
    resumed = train(opts(data, tmp_path / "killed", "hyperprior", resume=True, **kw))
    assert resumed["steps"] == 4 and resumed["complete"]
    a, b = run_folder.load_last(tmp_path / "full"), run_folder.load_last(tmp_path / "killed")
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    assert full["weights_sha256"] == resumed["weights_sha256"]
