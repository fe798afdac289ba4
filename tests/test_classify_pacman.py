"""classify --dataset pacman: the multi-task models, their scores, the codec experiment."""
import json

import numpy as np
import pytest
import torch

from data_tools import pacman
from data_tools.pacman import tasks as T
from learned_codec.classify.pacman_model import PacmanTaskNet, task_loss
from learned_codec.classify.pacman_task import task_scores
from learned_codec.cli import main
from learned_codec.errors import UserError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("pacman-classify")
    pacman.make_dataset(out, seed=0, videos=3, frames_per_video=40, progress=False, workers=1)
    return out


@pytest.mark.parametrize("arch", ["notebook-cnn", "small-resnet"])
def test_models_give_three_heads_and_a_finite_loss(arch):
    model = PacmanTaskNet(arch)
    out = model(torch.zeros(2, 3, 200, 160))
    assert out["situations"].shape == (2, 12) and out["maze"].shape == (2, 4)
    assert out["positions"].shape == (2, 5, 2)
    target = {"situations": torch.zeros(2, 12, dtype=torch.uint8), "maze": torch.tensor([0, 3]),
              "positions": torch.full((2, 5, 2), 50.0), "on_screen": torch.ones(2, 5, dtype=torch.uint8)}
    loss = task_loss(out, target)
    loss.backward()
    assert torch.isfinite(loss)


def test_wrong_frame_size_is_refused():
    with pytest.raises(UserError, match="take N x 3 x 200 x 160 frames, got"):
        PacmanTaskNet("notebook-cnn")(torch.zeros(1, 3, 210, 160))


def test_unknown_label_is_refused():
    with pytest.raises(UserError, match="unknown situation label 'ghost_party'"):
        T.task_arrays([(["fruit", "ghost_party"], 0, np.zeros((5, 2), np.float32))])


def test_scores_of_perfect_and_wrong_predictions():
    rng = np.random.default_rng(0)
    n = 40
    tasks = {"situations": rng.integers(0, 2, (n, 12)).astype(np.uint8),
             "maze": rng.integers(0, 4, n), "positions": rng.uniform(0, 150, (n, 5, 2)).astype(np.float32),
             "on_screen": np.ones((n, 5), np.uint8)}
    perfect = {"situations": tasks["situations"].astype(float), "maze": tasks["maze"],
               "positions": tasks["positions"]}
    s = task_scores(perfect, tasks)
    assert s["situation_bacc"] == 1.0 and s["maze_acc"] == 1.0 and s["position_err_px"] == 0.0
    shifted = dict(perfect, situations=1.0 - perfect["situations"], maze=(tasks["maze"] + 1) % 4,
                   positions=tasks["positions"] + np.array([3.0, 4.0], np.float32))
    s = task_scores(shifted, tasks)
    assert s["situation_bacc"] == 0.0 and s["maze_acc"] == 0.0
    assert s["position_err_px"] == pytest.approx(5.0, abs=1e-4)


def test_two_step_training_run_folder(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["classify", "train", "--dataset", "pacman", "--data", str(tiny), "--epochs", "2",
                 "--quiet", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["train"]["steps"] == 2 and config["model"]["arch"] == "pacman-notebook-cnn"
    assert 0.0 <= metrics["maze_acc"] <= 1.0 and len(metrics["per_sprite_err_px"]) == 5
    assert (out / "model.safetensors").is_file()
    assert "pacman task notebook-cnn" in capsys.readouterr().out


def test_codec_experiment_exact_codec_keeps_every_score(tiny, tmp_path):
    out = tmp_path / "codecs"
    assert main(["classify", "codecs", "--dataset", "pacman", "--data", str(tiny), "--epochs", "1",
                 "--baselines", "jpeg", "--learned", "palette", "--same-codec", "jpeg:q=10",
                 "--quiet", "--out", str(out)]) == 0
    result = json.loads((out / "results.json").read_text())
    rows = result["rows"]
    assert [r["setting"] for r in rows if r["codec"] == "jpeg" and r["experiment"] == "1"] == \
        ["q=10", "q=30", "q=60", "q=90"]
    original = next(r for r in rows if r["codec"] == "original")
    exact = next(r for r in rows if r["codec"] == "palette")
    # the palette codec decodes the frames exactly, so the model's predictions are identical
    for key in ("situation_bacc", "maze_acc", "position_err_px"):
        assert exact[key] == original[key]
    assert result["keep_99"]["notebook-cnn"]["palette"]["maze_acc"] == exact["bytes_per_frame"]
    assert any(r["experiment"] == "2" and r["train_on"] == "jpeg q=10" for r in rows)
    assert (out / "scores_notebook-cnn.png").stat().st_size > 10_000
    assert "rate at which each codec keeps 99 %" in (out / "report.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["classify", "codecs", "--dataset", "pacman", "--data", "/nonexistent", "--out", "x"],
     "no Pac-Man data set at /nonexistent"),
    (["classify", "codecs", "--data", "/nonexistent", "--out", "x"], "add --dataset pacman"),
    (["classify", "same-quality", "--dataset", "pacman", "--out", "x"], "takes `classify train`"),
    (["classify", "train", "--arch", "small-resnet", "--out", "x"], "use it with --dataset pacman"),
])
def test_user_mistakes_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_old_data_set_without_labels_says_remake(tiny, tmp_path, capsys):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(tiny, old)
    shutil.rmtree(old / "tasks")
    assert main(["classify", "train", "--dataset", "pacman", "--data", str(old), "--out", str(tmp_path / "r")]) == 2
    assert "predates them; remake it" in capsys.readouterr().err
