"""compress-model on tiny codec and classifier runs: saved, reloaded, decodable, measured."""
import json

import numpy as np
import pytest
import torch

from learned_codec import cli
from learned_codec.models.checkpoint import load_tensors, save_best, save_config
from learned_codec.codecs.learned import LearnedCodec
from learned_codec.model_compression.codecs import compress_codec
from learned_codec.container.format import ContainerError, unpack
from learned_codec.models import build_model
from learned_codec.models.registry import default_config

H, W = 32, 48


def _frames(n, seed):
    rng = np.random.default_rng(seed)
    # smooth-ish frames (a coarse random grid upsampled) so that a decoder has structure to keep
    coarse = rng.integers(0, 256, (n, H // 8, W // 8, 3), dtype=np.uint8)
    return np.ascontiguousarray(coarse.repeat(8, axis=1).repeat(8, axis=2))


@pytest.fixture(scope="module")
def codec_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("conv4run")
    torch.manual_seed(0)
    cfg = default_config("conv4")
    model = build_model(cfg)
    save_config(run, {"model": cfg, "quant": "naive"})
    save_best(run, model.state_dict(), cfg, {"epoch": 0})
    return run


@pytest.fixture(scope="module")
def codec_report(codec_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("compressed")
    report = compress_codec(codec_run, [("prune", 0.5), ("fp16", None), ("int8-dynamic", None)], out,
                            _frames(3, 1), _frames(6, 2), steps=2, finetune_batches=2, batch_size=2,
                            latency_repeats=1, progress=False, log=lambda *a: None)
    return report, out


def test_codec_variants_reach_their_targets_and_shrink_the_decoder(codec_report):
    report, out = codec_report
    rows = {r["variant"]: r for r in report["rows"]}
    assert list(rows) == ["original", "prune-0.5", "fp16", "int8-dynamic"]
    assert report["decoder_modules"] == ["decoder"]
    assert abs(rows["prune-0.5"]["reached_sparsity"] - 0.5) <= 0.01
    base = rows["original"]["decoder_bytes"]
    assert rows["prune-0.5"]["decoder_bytes"] < 0.7 * base   # 0.5 x 4 B + 1 bit per weight, dense BN
    assert abs(rows["fp16"]["decoder_bytes"] / base - 0.5) < 0.01
    assert rows["int8-dynamic"]["decoder_bytes"] < 0.3 * base
    for r in rows.values():  # the encoder is untouched: same code, same bytes
        assert r["bytes_per_frame"] == rows["original"]["bytes_per_frame"]
        assert np.isfinite(r["psnr"]) and 0 <= r["ssim"] <= 1
    assert abs(rows["fp16"]["delta_psnr"]) < 0.5 and abs(rows["int8-dynamic"]["delta_psnr"]) < 1.0
    assert len(rows["prune-0.5"]["finetune_mse"]) == 2


def test_compressed_codec_runs_decode_and_bind_their_own_weights(codec_run, codec_report):
    _, out = codec_report
    frames = _frames(2, 3)
    original = LearnedCodec.load(codec_run)
    original_file = original.encode(frames)
    original_tensors, _ = load_tensors(codec_run / "model.safetensors")
    for variant in ("prune-0.5", "fp16", "int8-dynamic"):
        codec = LearnedCodec.load(out / variant)
        stored, meta = load_tensors(out / variant / "model.safetensors")
        assert json.loads(meta["compression"])["method"] == variant.split("-0")[0]
        assert codec.weights_sha256 == meta["weights_sha256"] != original.weights_sha256
        data = codec.encode(frames)
        header, _ = unpack(data)
        assert header.weights_sha256 == meta["weights_sha256"]  # the header binds the compressed weights
        decoded = codec.decode(data)
        assert decoded.shape == frames.shape and decoded.dtype == np.uint8
        with pytest.raises(ContainerError, match="needs weights"):
            codec.decode(original_file)
        # encoder weights are stored as they were (float32, bit for bit)
        for key, value in original_tensors.items():
            if key.startswith("encoder."):
                assert torch.equal(stored[key], value), key
        assert codec.model_bytes == (out / variant / "model.safetensors").stat().st_size


def test_a_damaged_compressed_run_is_refused(codec_report, tmp_path):
    from learned_codec.errors import UserError

    _, out = codec_report
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "config.json").write_bytes((out / "int8-dynamic" / "config.json").read_bytes())
    data = bytearray((out / "int8-dynamic" / "model.safetensors").read_bytes())
    data[-5] ^= 0x40
    (damaged / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(UserError, match="corrupt"):
        LearnedCodec.load(damaged)


def test_cli_on_a_codec_run(codec_run, tmp_path, capsys):
    from data_tools.frames import save_split

    data = tmp_path / "frames"
    save_split(data, "test", _frames(2, 4))
    save_split(data, "train", _frames(4, 5))
    out = tmp_path / "report"
    code = cli.main(["compress-model", str(codec_run), "--method", "fp16", "--latency-repeats", "1",
                     "--data", str(data), "--no-progress", "--out", str(out)])
    assert code == 0
    for name in ("report.json", "summary.csv", "report.md", "decoder_rd.png", "fp16/model.safetensors",
                 "fp16/config.json"):
        assert (out / name).is_file(), name
    lines = (out / "summary.csv").read_text().splitlines()
    assert lines[0].startswith("variant,") and [line.split(",")[0] for line in lines[1:]] == ["original", "fp16"]
    assert "fp16" in capsys.readouterr().out


def test_cli_refuses_bad_arguments(codec_run, tmp_path, capsys):
    assert cli.main(["compress-model", str(codec_run), "--method", "prune", "--out", str(tmp_path)]) == 2
    assert "needs --sparsity" in capsys.readouterr().err
    assert cli.main(["compress-model", str(codec_run), "--method", "int4", "--out", str(tmp_path)]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert cli.main(["compress-model", str(tmp_path / "nope"), "--method", "fp16", "--out", str(tmp_path)]) == 2


# ---- classifiers ------------------------------------------------------------------

@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    """A briefly trained notebook CNN on 300 Fashion-MNIST images (enough to beat chance)."""
    from learned_codec.classify.data import data_config, load_classification_data, subset, to_model_input
    from learned_codec.classify.model import build_classifier, default_model_config
    from learned_codec.classify.run import save_classifier_run
    from learned_codec.classify.train import train_classifier

    images, labels, classes = load_classification_data("fashion-mnist", "train")
    val_x, val_y = subset(images, labels, 100, 0, 0)
    tr_x, tr_y = subset(images, labels, 300, 0, 100)
    data = data_config("fashion-mnist", classes, tr_x)
    cfg = default_model_config("notebook-cnn", 1, 32, 10)
    torch.manual_seed(0)
    model = build_classifier(cfg)
    train_classifier(model, to_model_input(tr_x, data), tr_y, to_model_input(val_x, data), val_y, epochs=1,
                     seed=0, device="cpu", progress=False)
    run = tmp_path_factory.mktemp("classifier")
    save_classifier_run(run, model, {"model": cfg, "data": data,
                                     "train": {"seed": 0, "sizes": {"train": 300, "val": 100}}})
    return run


def test_cli_on_a_classifier_run(classifier_run, tmp_path):
    from learned_codec.model_compression.classifiers import load_compressed_classifier
    from learned_codec.model_compression.precision import dynamic_linear_count

    out = tmp_path / "report"
    code = cli.main(["compress-model", str(classifier_run), "--method", "all", "--sparsity", "0.5",
                     "--steps", "1", "--finetune-size", "100", "--finetune-epochs", "1", "--test-size", "200",
                     "--latency-repeats", "1", "--no-progress", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    rows = {r["variant"]: r for r in report["rows"]}
    assert list(rows) == ["original", "prune-0.5", "fp16", "int8-dynamic"]
    assert abs(rows["prune-0.5"]["reached_sparsity"] - 0.5) <= 0.01
    assert report["test_images"] == 200
    for name, r in rows.items():
        assert r["top1"] == pytest.approx(r["micro_f1"])  # single-label: micro F1 = top-1
        assert len(r["class_accuracy"]) == 10
        if name != "original":
            cie = report["details"][name]["cie"]
            assert r["impacted_classes"] == len(cie["impacted_classes"])
            assert r["impacted_images_exact"] == pytest.approx(sum(cie["impacted_images_per_class"]))
    assert rows["fp16"]["model_file_bytes"] < 0.55 * rows["original"]["model_file_bytes"]
    assert rows["int8-dynamic"]["model_file_bytes"] < 0.35 * rows["original"]["model_file_bytes"]
    assert abs(rows["fp16"]["delta_top1"]) <= 0.01  # 2 of 200 images at most
    for name in ("summary.csv", "per_class.csv", "per_class.png", "report.md"):
        assert (out / name).is_file(), name
    model, config = load_compressed_classifier(out / "int8-dynamic")
    assert dynamic_linear_count(model) == 1 and config["compression"]["method"] == "int8-dynamic"
    x = torch.zeros(2, 1, 32, 32)
    assert model(x).shape == (2, 10)
