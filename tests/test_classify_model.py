"""Classifier models, run folders and the `classify train` command (issue #7)."""
import json

import numpy as np
import pytest
import torch

from learned_codec import cli
from learned_codec.classify.data import data_config, to_model_input
from learned_codec.classify.model import (MultiQualityClassifier, NotebookCNN, build_classifier,
                                          default_model_config, keras_param_count)
from learned_codec.classify.run import load_classifier_run, save_classifier_run
from learned_codec.errors import UserError


def test_notebook_cnn_has_the_notebooks_309290_parameters():
    model = NotebookCNN(in_channels=3, num_classes=10, image_size=32)
    # Keras counts BatchNorm's moving mean/variance: 308,394 trainable + 896 non-trainable.
    assert keras_param_count(model) == 309_290
    assert sum(p.numel() for p in model.parameters()) == 308_394
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert model.feature_dim == 4 * 4 * 128


@pytest.mark.parametrize("setting,count", [(0, 701_386), (1, 1_079_562), (2, 1_144_138),
                                           (3, 1_276_618), (4, 1_620_298), (5, 1_686_090)])
def test_helmholtz_settings_match_the_reference_parameter_counts(setting, count):
    # Counts from the file names of Helmholtz-DL's cifar/parameters/model_<count>_<name>.txt.
    model = build_classifier(default_model_config(f"helmholtz-{setting}"))
    assert keras_param_count(model) == count
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


def test_multi_quality_branches_share_one_backbone():
    backbone = NotebookCNN(in_channels=1, image_size=32)
    model = MultiQualityClassifier(backbone, num_branches=11)
    # The very same parameter objects as the backbone's blocks, not copies.
    assert all(a is b for a, b in zip(model.blocks.parameters(), backbone.blocks.parameters()))
    blocks = sum(p.numel() for p in backbone.blocks.parameters())
    head = 11 * backbone.feature_dim * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == blocks + head
    # Each branch's features equal the backbone applied to that branch alone.
    model.eval()
    x = torch.randn(2, 11, 1, 32, 32)
    with torch.no_grad():
        feats = model.features(x.reshape(22, 1, 32, 32)).reshape(2, 11, -1)
        assert torch.allclose(feats[:, 3], backbone.eval().features(x[:, 3]), atol=1e-5)
        assert model(x).shape == (2, 10)
    # A gradient step through all branches lands in the one shared set of weights.
    model.train()
    model(x).sum().backward()
    assert backbone.blocks[0][0].weight.grad is not None


def test_unknown_arch_is_a_user_error():
    with pytest.raises(UserError, match="unknown classifier architecture"):
        build_classifier({"arch": "resnet-9000"})


def test_to_model_input_pads_fashion_mnist_to_32_and_normalises():
    images = np.full((3, 28, 28, 1), 100, np.uint8)
    data = data_config("fashion-mnist", list("abcdefghij"), images)
    assert data["image_size"] == 32 and data["mean"] == [100.0]
    x = to_model_input(images, {"data": data})
    assert x.shape == (3, 1, 32, 32) and x.dtype == torch.float32
    assert torch.allclose(x[:, :, 2:30, 2:30], torch.zeros(()))  # (100 - mean) / std
    assert x[0, 0, 0, 0] == pytest.approx(-100.0 / data["std"][0])  # zero padding in pixel space
    with pytest.raises(UserError, match="uint8"):
        to_model_input(images.astype(np.float32), data)


def test_run_folder_round_trip_and_corruption(tmp_path):
    model = NotebookCNN(in_channels=1, image_size=32).eval()
    data = data_config("fashion-mnist", list("abcdefghij"), np.zeros((2, 28, 28, 1), np.uint8) + 7)
    config = {"model": default_model_config("notebook-cnn", 1, 32, 10), "data": data, "train": {"epochs": 0}}
    save_classifier_run(tmp_path / "run", model, config, {"test_acc": 0.5})
    loaded, cfg = load_classifier_run(tmp_path / "run")
    assert not loaded.training and cfg["data"]["class_names"] == list("abcdefghij")
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == {"test_acc": 0.5}
    # A flipped byte in the weights is refused, not loaded as a different model.
    blob = bytearray((tmp_path / "run" / "model.safetensors").read_bytes())
    blob[-5] ^= 0xFF
    (tmp_path / "run" / "model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(UserError, match="corrupt"):
        load_classifier_run(tmp_path / "run")
    with pytest.raises(UserError, match="missing"):
        load_classifier_run(tmp_path)  # a folder without config.json
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"model": {"arch": "conv5"}}')
    with pytest.raises(UserError, match="not a classifier run"):
        load_classifier_run(tmp_path / "other")


def test_classify_train_cli_writes_a_loadable_run(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["classify", "train", "--train-size", "64", "--val-size", "32", "--test-size", "48",
                     "--epochs", "1", "--quiet", "--out", str(out)])
    assert code == 0
    assert "test acc" in capsys.readouterr().out
    model, config = load_classifier_run(out)
    assert config["data"]["dataset"] == "fashion-mnist" and config["train"]["sizes"]["train"] == 64
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["per_class_test_acc"]) == 10 and 0.0 <= metrics["test_acc"] <= 1.0
    assert sum(metrics["predicted_class_counts"]) == 48


@pytest.mark.parametrize("argv,message", [
    (["--dataset", "cifar10"], "--cifar-tarball"),
    (["--dataset", "cifar10", "--cifar-tarball", "/nonexistent/cifar-10-python.tar.gz"], "does not exist"),
    (["--dataset", "folder", "--folder", "/nonexistent"], "does not exist"),
    (["--train-size", "0"], "at least 1"),
])
def test_classify_train_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, message):
    code = cli.main(["classify", "train", "--quiet", "--epochs", "1", "--out", str(tmp_path / "r")] + argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_parser_arch_list_matches_the_model_registry():
    from learned_codec.classify.model import ARCHS
    from learned_codec.commands.classify import CLASSIFIER_ARCHS

    assert CLASSIFIER_ARCHS == ARCHS


@pytest.mark.parametrize("argv", [["--dataset", "imagenet"], ["--arch", "vgg"]])
def test_unknown_dataset_or_arch_is_rejected_by_the_parser(capsys, argv):
    with pytest.raises(SystemExit) as e:
        cli.main(["classify", "train", *argv, "--out", "x"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_labelled_folder_data_set_trains(tmp_path, capsys):
    # e.g. Pac-Man frames sorted by a labelled task: ROOT/<class>/*.png, train/ and test/ splits.
    from data_tools.sources import write_png

    rng = np.random.default_rng(0)
    for split, n in (("train", 10), ("test", 4)):
        for name, level in (("dark", 40), ("bright", 200)):
            for i in range(n):
                image = np.clip(rng.normal(level, 20, (16, 16, 3)), 0, 255).astype(np.uint8)
                write_png(tmp_path / "frames" / split / name / f"{i:03d}.png", image)
    code = cli.main(["classify", "train", "--dataset", "folder", "--folder", str(tmp_path / "frames"),
                     "--val-size", "4", "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")])
    assert code == 0
    _, config = load_classifier_run(tmp_path / "run")
    assert config["data"]["class_names"] == ["bright", "dark"] and config["data"]["image_size"] == 16
    assert config["train"]["sizes"] == {"train": 16, "val": 4, "test": 8}
