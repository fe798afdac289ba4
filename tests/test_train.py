"""`learned-codec train`: 2-step runs of every arch, resume determinism, DDP, bad inputs.

Tiny synthetic frame sets (8 train / 4 val frames) in the on-disk layout of
data_tools.frames; small code sizes where the test is not about parameter counts.
"""
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from data_tools.frames import save_manifest, save_split
from learned_codec.models import checkpoint as ckpt
from learned_codec.training import run_folder
from learned_codec.cli import main
from learned_codec.models import frames_to_tensor
from learned_codec.training.loop import train

REPO = Path(__file__).resolve().parents[1]


def make_frames(root, size=(200, 160), counts=(("train", 8), ("val", 4), ("test", 2)), seed=0):
    """Blocky frames (like pixel art) rather than noise, so training makes progress."""
    rng = np.random.default_rng(seed)
    h, w = size
    for split, n in counts:
        small = rng.integers(0, 256, (n, -(-h // 10), -(-w // 10), 3), dtype=np.uint8)
        frames = small.repeat(10, axis=1).repeat(10, axis=2)[:, :h, :w]
        save_split(root, split, frames)
    save_manifest(root, {"synthetic": True, "frame_size": list(size)})
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_frames(tmp_path_factory.mktemp("frames"))


def opts(data, out, arch, **kw):
    base = {"arch": arch, "data": str(data), "out": str(out), "epochs": 1, "batch_size": 4,
            "lr": 1e-3, "seed": 0, "device": "cpu", "quiet": True, "val_frames": 2, "ssim_frames": 1,
            "frames_per_epoch": None, "preset": "quick"}
    base.update(kw)
    return base


def folder_digest(path):
    h = hashlib.sha256()
    for p in sorted(Path(path).rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(path)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---- every arch trains 2 steps and leaves a loadable checkpoint --------------------

TWO_STEP_CASES = {
    "conv4": {},
    "conv5": {"quant": "naive"},
    "vae": {"code_size": 16, "quant": "affine"},
    "fc": {"code_size": 8, "blocks": "per-position", "quant": "naive"},
    "fc-deep": {"code_size": 8, "blocks": "per-position", "model_options": {"hidden": [32, 16]}},
    "fc-deep-shared": {"code_size": 8, "blocks": "shared", "quant": "affine",
                       "model_options": {"hidden": [32, 16]}},
}


@pytest.mark.parametrize("case", sorted(TWO_STEP_CASES))
def test_two_step_train_writes_loadable_checkpoint(case, data, tmp_path):
    arch = case.replace("-shared", "")
    out = tmp_path / "run"
    summary = train(opts(data, out, arch, **TWO_STEP_CASES[case]))  # 8 frames / batch 4 = 2 steps
    assert summary["steps"] == 2 and summary["complete"]
    assert np.isfinite(summary["best"]["val_psnr"])
    assert summary["test"]["test_frames"] == 2 and np.isfinite(summary["test"]["test_psnr"])
    for name in ("config.json", "model.safetensors", "metrics.jsonl", "last.json", "test_metrics.json"):
        assert (out / name).is_file()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and {"val_psnr", "val_ssim", "train_loss", "frames_per_s"} <= set(rows[0])

    model, config = ckpt.load_model(out)
    assert not model.training and config["arch"] == arch
    assert config["weights_sha256"] == summary["weights_sha256"] == model.weights_sha256
    x = frames_to_tensor(np.load(data / "images" / "test.npy"))
    with torch.no_grad():
        x_hat = model(x)["x_hat"]
    assert x_hat.shape == x.shape and float(x_hat.min()) >= 0 and float(x_hat.max()) <= 1


def test_cli_prints_json_summary(data, tmp_path, capsys):
    code, out, err = run_cli(["train", "--arch", "fc", "--data", str(data), "--out", str(tmp_path / "r"),
                              "--code-size", "4", "--epochs", "1", "--batch-size", "8", "--device", "cpu",
                              "--val-frames", "2", "--ssim-frames", "1", "--quiet", "--blocks", "shared"],
                             capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["arch"] == "fc" and summary["steps"] == 1 and summary["parameters"] == 2 * 6000 * 4 + 4 + 6000


# ---- kill and resume = uninterrupted ----------------------------------------------

def test_kill_and_resume_gives_the_same_weights(data, tmp_path):
    # vae: its training draws noise, so this also checks that the RNG state is restored.
    kw = {"code_size": 8, "epochs": 2, "batch_size": 2, "frames_per_epoch": 6}  # 3 steps an epoch
    full = train(opts(data, tmp_path / "full", "vae", **kw))
    assert full["steps"] == 6

    stopped = train(opts(data, tmp_path / "killed", "vae", max_steps=4, **kw))  # mid second epoch
    assert stopped["steps"] == 4 and not stopped["complete"]
    resumed = train(opts(data, tmp_path / "killed", "vae", resume=True, **kw))
    assert resumed["steps"] == 6 and resumed["complete"]

    a = run_folder.load_last(tmp_path / "full")
    b = run_folder.load_last(tmp_path / "killed")
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    assert a["state"]["model_sha256"] == b["state"]["model_sha256"]
    def metrics(run):
        rows = [json.loads(x) for x in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        return [(r["epoch"], r["step"], r["train_loss"], r["val_psnr"], r["val_ssim"]) for r in rows]

    assert metrics("full") == metrics("killed")


# ---- DDP ----------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_ddp(data, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--nnodes", "1",
           "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
           "-m", "learned_codec", "train", "--arch", "fc", "--code-size", "4", "--blocks", "shared",
           "--data", str(data), "--out", str(out), "--epochs", "2", "--batch-size", "2",
           "--device", "cpu", "--val-frames", "2", "--ssim-frames", "1", "--quiet"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):proc.stdout.rindex("}") + 1])
    assert summary["world_size"] == 2
    assert summary["steps"] == 4  # 8 frames / 2 processes / batch 2 = 2 steps an epoch
    model, config = ckpt.load_model(out)
    assert config["arch"] == "fc"
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2  # rank 0 alone writes


# ---- bad input: exit 2, one line, nothing lost --------------------------------------

def test_unknown_arch(data, tmp_path, capsys):
    code, _, err = run_cli(["train", "--arch", "resnet", "--data", str(data), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "unknown architecture 'resnet'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_missing_and_empty_data_folders(tmp_path, capsys):
    code, _, err = run_cli(["train", "--arch", "conv4", "--data", str(tmp_path / "nowhere"),
                            "--out", str(tmp_path / "r1")], capsys)
    assert code == 2 and "nowhere" in err and len(err.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["train", "--arch", "conv4", "--data", str(empty), "--out", str(tmp_path / "r2")], capsys)
    assert code == 2 and "no train frames" in err
    zero = make_frames(tmp_path / "zero", counts=(("train", 0), ("val", 2)))
    code, _, err = run_cli(["train", "--arch", "conv4", "--data", str(zero), "--out", str(tmp_path / "r3")], capsys)
    assert code == 2 and "has no train frames" in err


@pytest.mark.parametrize("arch", ["fc", "fc-deep", "vae"])
def test_fixed_size_archs_refuse_other_frame_sizes(arch, tmp_path, capsys):
    odd = make_frames(tmp_path / "odd", size=(96, 128))
    code, _, err = run_cli(["train", "--arch", arch, "--data", str(odd), "--out", str(tmp_path / "r"),
                            "--device", "cpu"], capsys)
    assert code == 2 and "200x160" in err and "96x128" in err and len(err.strip().splitlines()) == 1


def test_conv_trains_on_other_frame_sizes(tmp_path):
    odd = make_frames(tmp_path / "odd", size=(37, 51), counts=(("train", 4), ("val", 2)))
    summary = train(opts(odd, tmp_path / "r", "conv5"))
    assert summary["steps"] == 1
    model, _ = ckpt.load_model(tmp_path / "r")
    with torch.no_grad():
        assert model(torch.rand(1, 3, 37, 51))["x_hat"].shape == (1, 3, 37, 51)


def test_non_writable_out_dir(data, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(["train", "--arch", "conv4", "--data", str(data), "--out", str(blocker / "run"),
                            "--device", "cpu"], capsys)
    assert code == 2 and "not writable" in err and blocker.read_text() == "not a folder"


def test_bad_code_size_for_conv(data, tmp_path, capsys):
    code, _, err = run_cli(["train", "--arch", "conv4", "--data", str(data), "--out", str(tmp_path / "r"),
                            "--code-size", "1000", "--device", "cpu"], capsys)
    assert code == 2 and "multiple of 130" in err


def test_existing_run_and_corrupt_checkpoint_on_resume(data, tmp_path, capsys):
    out = tmp_path / "run"
    train(opts(data, out, "fc", code_size=4, blocks="shared"))
    base = ["train", "--arch", "fc", "--data", str(data), "--out", str(out), "--device", "cpu", "--quiet"]

    before = folder_digest(out)
    code, _, err = run_cli(base, capsys)  # no --resume: refuses to overwrite
    assert code == 2 and "--resume" in err and folder_digest(out) == before

    last = json.loads((out / "last.json").read_text())["checkpoint"]
    weights = out / last / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-5] ^= 0xFF  # flip bits in the tensor data
    weights.write_bytes(bytes(blob))
    before = folder_digest(out)
    code, _, err = run_cli(base + ["--resume"], capsys)
    assert code == 2 and "corrupt" in err and len(err.strip().splitlines()) == 1
    assert folder_digest(out) == before

    weights.write_bytes(bytes(blob[:100]))  # truncated
    code, _, err = run_cli(base + ["--resume"], capsys)
    assert code == 2 and "not a readable safetensors file" in err

    code, _, err = run_cli(["train", "--arch", "fc", "--data", str(data), "--out", str(tmp_path / "none"),
                            "--resume"], capsys)
    assert code == 2 and "no checkpoint to resume" in err


def test_init_from_starts_at_the_given_weights(data, tmp_path):
    first = tmp_path / "first"
    train(opts(data, first, "conv4"))
    # a tiny lr: the fine-tuned run stays (numerically) at the weights it started from
    second = tmp_path / "second"
    train(opts(data, second, "conv4", init_from=str(first), lr=1e-12))
    config = json.loads((second / "config.json").read_text())
    start, start_config = ckpt.load_model(first)
    assert config["train"]["init_from"] == {"run": str(first), "weights_sha256": start_config["weights_sha256"]}
    tuned = dict(ckpt.load_model(second)[0].named_parameters())
    for name, tensor in start.named_parameters():   # (BatchNorm statistics move without lr)
        torch.testing.assert_close(tuned[name], tensor, atol=1e-6, rtol=0)
    fresh = tmp_path / "fresh"
    train(opts(data, fresh, "conv4", lr=1e-12, seed=1))
    assert not torch.allclose(ckpt.load_model(fresh)[0].state_dict()["encoder.0.0.weight"],
                              start.state_dict()["encoder.0.0.weight"])
    from learned_codec.errors import UserError

    with pytest.raises(UserError, match="holds a conv4 model, not conv5"):
        train(opts(data, tmp_path / "third", "conv5", init_from=str(first), quant="naive"))


def test_quant_grad_option_is_checked_and_recorded():
    from learned_codec.errors import UserError
    from learned_codec.training.presets import new_run_config

    base = {"arch": "fc", "preset": "quick"}
    cfg = new_run_config({**base, "quant": "naive", "quant_grad": "inward"}, (200, 160), "d", 10, 2, "cpu")
    assert cfg["train"]["quant_grad"] == "inward"
    assert "quant_grad" not in new_run_config({**base, "quant": "naive"}, (200, 160), "d", 10, 2, "cpu")["train"]
    with pytest.raises(UserError, match="naive only"):
        new_run_config({**base, "quant": "affine", "quant_grad": "inward"}, (200, 160), "d", 10, 2, "cpu")
    with pytest.raises(UserError, match="unknown --quant-grad"):
        new_run_config({**base, "quant": "naive", "quant_grad": "sideways"}, (200, 160), "d", 10, 2, "cpu")
