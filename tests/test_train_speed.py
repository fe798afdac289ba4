"""Issue 16: warm-up + cosine lr, the cpu-long preset, the faster batch layout and
random crops (learned_codec/training/lr_schedule.py, training/speed.py, the loop's hooks).

Tiny models and frame sets, a few steps each."""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from learned_codec.training import run_folder
from learned_codec.training import lr_schedule
from learned_codec.training import speed as train_speed
from learned_codec.training import data as train_data
from learned_codec.training import presets as train_mod
from learned_codec.cli import main
from learned_codec.errors import UserError
from learned_codec.models.conv import ConvAutoencoder
from learned_codec.training.loop import train
from learned_codec.quant.training import make_train_quantizer

from test_train import make_frames, opts


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    # conv4/conv5 pad any size; 64x48 keeps conv5 steps in milliseconds
    return make_frames(tmp_path_factory.mktemp("small"), size=(64, 48),
                       counts=(("train", 8), ("val", 2), ("test", 2)))


# ---- lr schedule ------------------------------------------------------------------

def test_constant_schedule_is_the_old_lr():
    assert all(lr_schedule.lr_at(s, 100, 2e-3) == 2e-3 for s in (0, 50, 99, 500))


def test_warmup_then_cosine():
    total, warm, base = 100, 10, 1e-3
    lrs = [lr_schedule.lr_at(s, total, base, "cosine", warm, 0.01) for s in range(total)]
    assert lrs[0] == pytest.approx(base / warm)
    assert lrs[warm - 1] == pytest.approx(base)              # warm-up ends at the peak
    assert all(a < b for a, b in zip(lrs[:warm - 1], lrs[1:warm]))
    assert lrs[warm] == pytest.approx(base)                  # decay starts at the peak
    assert all(a >= b for a, b in zip(lrs[warm:], lrs[warm + 1:]))
    mid = warm + (total - warm) // 2
    assert lrs[mid] == pytest.approx(0.01 * base + 0.99 * base * 0.5, rel=1e-6)
    assert lr_schedule.lr_at(total, total, base, "cosine", warm, 0.01) == pytest.approx(0.01 * base)
    assert lr_schedule.lr_at(10 * total, total, base, "cosine", warm, 0.01) == pytest.approx(0.01 * base)
    assert lr_schedule.lr_at(0, total, base, "cosine", 0, 0.0) == pytest.approx(base)
    with pytest.raises(ValueError):
        lr_schedule.lr_at(0, 10, base, "linear")


def test_training_sets_the_scheduled_lr(small_data, tmp_path):
    kw = {"epochs": 2, "batch_size": 2, "frames_per_epoch": 4, "lr_schedule": "cosine",
          "warmup_steps": 1, "min_lr_ratio": 0.1}
    train(opts(small_data, tmp_path / "r", "conv4", **kw))
    rows = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    total = 4  # 2 epochs x 2 steps; row lr = lr of each epoch's last step
    assert rows[0]["lr"] == pytest.approx(lr_schedule.lr_at(1, total, 1e-3, "cosine", 1, 0.1))
    assert rows[1]["lr"] == pytest.approx(lr_schedule.lr_at(3, total, 1e-3, "cosine", 1, 0.1))
    assert [r["frames_seen"] for r in rows] == [4, 8]


# ---- cpu-long preset ----------------------------------------------------------------

@pytest.mark.parametrize("arch", ["conv5", "conv4", "vae", "fc", "fc-deep"])
def test_cpu_long_preset_options(arch):
    p = train_mod.preset_options("cpu-long", arch)
    assert p["lr_schedule"] == "cosine" and p["warmup_steps"] > 0 and 0 < p["min_lr_ratio"] < 1
    assert p["fast_batch"] is True and p["epochs"] > train_mod.QUICK[arch]["epochs"]
    if arch in ("conv4", "conv5"):
        assert p["crop"] == [128, 160] and 0 < p["crop_fraction"] < 1
    else:
        assert "crop" not in p
    if arch in ("fc", "fc-deep"):
        assert p["blocks"] == "shared"


def test_cpu_long_unknown_arch_and_reference_untouched():
    with pytest.raises(UserError, match="cpu-long"):
        train_mod.preset_options("cpu-long", "hyperprior")
    ref = train_mod.preset_options("reference", "conv5")
    assert not set(train_mod.SPEED_KEYS) & set(ref)  # reference = the old loop


def test_crop_refused_for_fixed_size_archs(small_data, tmp_path):
    with pytest.raises(UserError, match="--crop"):
        train(opts(small_data, tmp_path / "r", "fc", code_size=8, crop=[32, 32]))


def test_cli_cpu_long_run_config(small_data, tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["train", "--arch", "conv5", "--quant", "naive", "--preset", "cpu-long", "--data", str(small_data),
                 "--out", str(out), "--epochs", "5", "--frames-per-epoch", "2", "--batch-size", "2",
                 "--crop", "32", "48", "--val-frames", "2", "--ssim-frames", "1", "--threads", "1",
                 "--no-test", "--quiet"])
    capsys.readouterr()
    assert code == 0
    tc = json.loads((out / "config.json").read_text())["train"]
    assert tc["preset"] == "cpu-long" and tc["crop"] == [32, 48] and tc["lr_schedule"] == "cosine"
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["crop"] for r in rows] == [[32, 48]] * 4 + [None]  # crop_fraction 0.8 of 5 epochs


# ---- the fast step equals the old one -------------------------------------------------

def tiny_model():
    torch.manual_seed(0)
    m = ConvAutoencoder(channels=(4, 8), code_channels=8, frame_size=(20, 24))
    m.code_quantizer = make_train_quantizer("naive")
    return m.train()


def test_fast_batch_same_values_and_gradients():
    frames = np.random.default_rng(0).integers(0, 256, (6, 20, 24, 3), dtype=np.uint8)
    idx = np.array([4, 1, 3])
    old_x = train_data.batch_tensor(frames, idx, "cpu")
    new_x = train_speed.batch_tensor_fast(frames, idx, "cpu")
    assert new_x.is_contiguous() and torch.equal(old_x, new_x)
    grads, losses = [], []
    for x in (old_x, new_x):
        m = tiny_model()
        loss = F.mse_loss(m(x)["x_hat"], x)
        loss.backward()
        losses.append(loss.item())
        grads.append([p.grad.clone() for p in m.parameters()])
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


# ---- crops --------------------------------------------------------------------------

def test_random_crops_are_windows_and_deterministic():
    frames = np.random.default_rng(1).integers(0, 256, (5, 20, 24, 3), dtype=np.uint8)
    a = train_speed.random_crops(frames, (8, 16), train_speed.crop_rng(0, 3, 7))
    b = train_speed.random_crops(frames, (8, 16), train_speed.crop_rng(0, 3, 7))
    assert a.shape == (5, 8, 16, 3) and np.array_equal(a, b)
    for f, c in zip(frames, a):  # each crop is a window of its frame
        hits = [(y, x) for y in range(13) for x in range(9) if np.array_equal(f[y:y + 8, x:x + 16], c)]
        assert hits
    assert train_speed.random_crops(frames, (40, 40), train_speed.crop_rng(0, 0, 0)) is frames
    c = train_speed.random_crops(frames, (8, 16), train_speed.crop_rng(0, 3, 8))
    assert not np.array_equal(a, c)


def test_use_crop_epochs():
    assert [train_speed.use_crop(e, 10, [8, 8], 0.8) for e in range(10)] == [True] * 8 + [False] * 2
    assert not train_speed.use_crop(0, 10, None, 0.8)
    assert train_speed.use_crop(9, 10, [8, 8], 1.0)


@pytest.mark.parametrize("crop", [(16, 16), (13, 21)])  # a multiple of 2**levels and not
def test_conv_model_shapes_on_crops(crop):
    m = tiny_model()
    assert train_speed.crop_supported(m)
    x = torch.rand(2, 3, *crop)
    out = m(x)
    assert out["x_hat"].shape == x.shape
    assert out["code"].shape[-2:] == tuple(math.ceil(s / 4) for s in crop)


def test_crop_run_resumes_to_the_same_weights(small_data, tmp_path):
    kw = {"epochs": 2, "batch_size": 2, "frames_per_epoch": 6, "crop": [32, 32], "crop_fraction": 0.5,
          "lr_schedule": "cosine", "warmup_steps": 2, "min_lr_ratio": 0.01, "fast_batch": True}
    full = train(opts(small_data, tmp_path / "full", "conv4", **kw))
    assert full["steps"] == 6
    train(opts(small_data, tmp_path / "killed", "conv4", max_steps=2, **kw))
    resumed = train(opts(small_data, tmp_path / "killed", "conv4", resume=True, **kw))
    assert resumed["complete"]
    a, b = run_folder.load_last(tmp_path / "full"), run_folder.load_last(tmp_path / "killed")
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
