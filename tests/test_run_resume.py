"""Training runs that can always go on (issue 20): a kill at every file write of the first two
epochs, then `train --resume`, always finishes the run with the weights of an uninterrupted
one; a folder with weights but no last.json restarts with a message; stale temporary files of
a killed run are removed; numeric options are range-checked before anything runs."""
import contextlib
from pathlib import Path

import pytest
import torch

from learned_codec import fileio
from learned_codec.cli import main
from learned_codec.errors import UserError
from learned_codec.training import run_folder
from learned_codec.training.loop import train
from tests.test_train import make_frames, opts

TINY = {"code_size": 4, "blocks": "shared", "epochs": 2, "batch_size": 4, "frames_per_epoch": 4,
        "test": False}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_frames(tmp_path_factory.mktemp("frames"), counts=(("train", 4), ("val", 2), ("test", 1)))


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the library catches it."""


@contextlib.contextmanager
def kill_at_write(k, log):
    """fileio.atomic_open that, at its k-th call, leaves a half-written temporary file (as a
    SIGKILL mid-write does) and raises Killed; the other calls write normally. `log` gets
    every target path."""
    real = fileio.atomic_open

    @contextlib.contextmanager
    def fake(path, mode="wb"):
        log.append(Path(path))
        if len(log) == k:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            (path.parent / f".{path.name}.k1ll3d_x.tmp").write_bytes(b"half a file")
            raise Killed(str(path))
        with real(path, mode) as f:
            yield f

    fileio.atomic_open = fake
    try:
        yield
    finally:
        fileio.atomic_open = real


def _weights(run):
    return run_folder.load_last(run)["model"]


def _tmp_files(run):
    return [p for p in Path(run).rglob("*.tmp")]


def test_kill_at_every_write_of_two_epochs_then_resume(data, tmp_path):
    writes = []
    with kill_at_write(0, writes):  # count the writes of an uninterrupted run
        full = train(opts(data, tmp_path / "full", "fc", **TINY))
    assert full["complete"] and len(writes) >= 10, writes
    reference = _weights(tmp_path / "full")
    for k in range(1, len(writes) + 1):
        out = tmp_path / f"kill{k}"
        with pytest.raises(Killed), kill_at_write(k, []):
            train(opts(data, out, "fc", **TINY))
        assert _tmp_files(out), "the simulated kill leaves its temporary file"
        resumed = train(opts(data, out, "fc", resume=True, **TINY))
        assert resumed["complete"] and resumed["steps"] == full["steps"], k
        assert not _tmp_files(out), f"kill at write {k}: stale temporary files left"
        got = _weights(out)
        assert got.keys() == reference.keys()
        assert all(torch.equal(got[n], reference[n]) for n in reference), f"kill at write {k}"


def test_weights_without_last_json(data, tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(Killed), kill_at_write(3, []):  # config, best weights, metrics: killed at metrics
        train(opts(data, out, "fc", **TINY))
    assert (out / "model.safetensors").exists() and not (out / "last.json").exists()
    with pytest.raises(UserError, match="stopped before its first checkpoint.*--resume"):
        train(opts(data, out, "fc", **TINY))
    assert not _tmp_files(out)  # removed by the refused run too
    summary = train(opts(data, out, "fc", resume=True, **TINY))
    assert summary["complete"]
    assert "starting it again from scratch" in capsys.readouterr().err


def test_resume_never_restarts_over_foreign_files(data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"x")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="no checkpoint to resume"):
        train(opts(data, out, "fc", resume=True, **TINY))
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.safetensors").exists()


@pytest.mark.parametrize("flag,value", [("--checkpoint-every", "0"), ("--val-frames", "-1"),
                                        ("--frames-per-epoch", "-3"), ("--epochs", "0"),
                                        ("--batch-size", "0"), ("--code-size", "-1"), ("--lr", "0")])
def test_numeric_options_checked_up_front(flag, value, data, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--arch", "fc", "--data", str(data), "--out", str(out), "--device", "cpu",
                 "--quiet", flag, value])
    err = capsys.readouterr().err
    assert code == 2 and flag in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing written, no epoch spent


def test_run_config_ranges_checked_on_resume(data, tmp_path):
    import json

    out = tmp_path / "run"
    train(opts(data, out, "fc", **{**TINY, "epochs": 1}))
    config = json.loads((out / "config.json").read_text())
    config["train"]["checkpoint_every"] = 0
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="checkpoint-every"):
        train(opts(data, out, "fc", resume=True, **{**TINY, "epochs": 2}))


def test_negative_frame_size_in_model_options(data, tmp_path):
    with pytest.raises(UserError, match="frame_size"):
        train(opts(data, tmp_path / "run", "conv4", model_options={"frame_size": [-200, 160]}, epochs=1))
