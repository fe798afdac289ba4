"""Compressed data sets, block-by-block training and a tiny run of every classify experiment."""
import csv
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from learned_codec import cli
from learned_codec.classify import compressed
from learned_codec.classify.blockwise import Tail, bottleneck, train_block_by_block
from learned_codec.classify.experiments import notebook_readback
from learned_codec.classify.model import MultiQualityClassifier, NotebookCNN
from learned_codec.errors import UserError

TINY = ["--train-size", "24", "--val-size", "12", "--test-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def grey():
    from learned_codec.classify.data import load_classification_data

    images, _, _ = load_classification_data("fashion-mnist", "test")
    return images[:12]


@pytest.mark.parametrize("codec,quality", [("jpeg", 10), ("jpeg", 90), ("webp", 1), ("webp", 80)])
def test_pillow_set_bytes_are_the_encoded_file_sizes(grey, codec, quality):
    cset = compressed.pillow_set(grey, codec, quality)
    fmt, options = compressed.pillow_options(codec, quality)
    for i, image in enumerate(grey):
        data = compressed.encode_image(image, fmt, options)
        assert cset.bytes_per_image[i] == len(data)
        assert np.array_equal(cset.images[i], compressed.decode_image(data, 1))
    assert cset.total_bytes == sum(len(compressed.encode_image(x, fmt, options)) for x in grey)
    assert cset.summary(grey)["bytes_per_image"] == pytest.approx(cset.total_bytes / len(grey))
    if codec == "jpeg":  # a grey JPEG is stored with one component, as Pillow's mode "L" writes it
        with Image.open(io.BytesIO(compressed.encode_image(grey[0], fmt, options))) as im:
            assert im.mode == "L"


def test_jpeg_simulate_sets_equal_pillow_for_grey_and_rgb(grey):
    sim = compressed.simulated_jpeg_sets(grey, [5, 50, 100])
    for q, s in sim.items():
        real = compressed.pillow_set(grey, "jpeg", q)
        assert np.array_equal(s.images, real.images)          # bit-exact pixels
        assert np.array_equal(s.bytes_per_image, real.bytes_per_image)  # bytes: Pillow's files
    rgb = np.random.default_rng(0).integers(0, 256, (4, 20, 28, 3), dtype=np.uint8)
    assert np.array_equal(compressed.simulate_jpeg(rgb, [30])[30], compressed.pillow_set(rgb, "jpeg", 30).images)


def test_learned_set_bytes_are_the_container_file_sizes(grey):
    from learned_codec.codecs import load_codecs

    codec = load_codecs(["conv5"])[0]  # the shipped model: any conv model codes 28 x 28 frames
    cset = compressed.learned_set(grey[:5], codec, chunk=3)
    rgb = np.repeat(grey[:5], 3, axis=-1)
    files = [codec.encode(rgb[:3]), codec.encode(rgb[3:])]
    assert cset.total_bytes == sum(len(f) for f in files)
    assert cset.bytes_per_image.tolist()[:3] == [len(files[0]) // 3 + (i < len(files[0]) % 3) for i in range(3)]
    decoded = codec.decode(files[1]).astype(np.float32).mean(-1, keepdims=True)
    assert np.array_equal(cset.images[3:], np.round(decoded).astype(np.uint8))


@pytest.mark.parametrize("quality,codec", [(0, "jpeg"), (101, "jpeg"), (-1, "webp"), (2.5, "jpeg")])
def test_bad_quality_is_a_user_error(grey, quality, codec):
    with pytest.raises(UserError, match="quality"):
        compressed.pillow_set(grey, codec, quality)


def test_notebook_readback_reproduces_its_bug(grey):
    decoded, nbytes = notebook_readback(grey, "jpeg", 50)
    first = compressed.pillow_set(grey[:1], "jpeg", 50)
    # Every image read back is the first one: the set holds a single distinct image.
    assert all(np.array_equal(d, first.images[0]) for d in decoded)
    assert nbytes == compressed.pillow_set(grey, "jpeg", 50).total_bytes


def test_cached_bottlenecks_give_the_same_outputs():
    torch.manual_seed(0)
    single = NotebookCNN(in_channels=1, image_size=32).eval()
    multi = MultiQualityClassifier(NotebookCNN(in_channels=1, image_size=32), num_branches=3).eval()
    x1, x3 = torch.randn(4, 1, 32, 32), torch.randn(4, 3, 1, 32, 32)
    with torch.no_grad():
        for first in range(4):
            assert torch.allclose(Tail(single, first)(bottleneck(single, x1, first)), single(x1), atol=1e-5)
            assert torch.allclose(Tail(multi, first)(bottleneck(multi, x3, first)), multi(x3), atol=1e-5)


def test_block_by_block_head_stage_leaves_the_blocks_frozen():
    torch.manual_seed(0)
    model = MultiQualityClassifier(NotebookCNN(in_channels=1, image_size=32), num_branches=2)
    before = {k: v.clone() for k, v in model.blocks.state_dict().items()}
    head_before = model.head.weight.detach().clone()
    x, y = torch.randn(16, 2, 1, 32, 32), torch.randint(0, 10, (16,))
    log = train_block_by_block(model, x, y, x[:8], y[:8], stages=1, stage_epochs=1, progress=False)
    assert log[0]["trainable"] == ["head"] and log[0]["lr"] == 0.01
    after = model.blocks.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BatchNorm stats
    assert not torch.equal(head_before, model.head.weight)
    log = train_block_by_block(model, x, y, x[:8], y[:8], stages=2, stage_epochs=1, progress=False)
    assert [s["lr"] for s in log] == [0.01, 0.001] and log[1]["trainable"] == ["head", "block3"]
    assert not torch.equal(before["2.0.weight"], model.blocks.state_dict()["2.0.weight"])
    assert torch.equal(before["1.0.weight"], model.blocks.state_dict()["1.0.weight"])


def _rows(out):
    with open(out / "results.csv") as f:
        return list(csv.DictReader(f))


def test_datasets_command_records_bytes(tmp_path, grey):
    out = tmp_path / "ds"
    assert cli.main(["classify", "datasets", "--train-size", "12", "--jpeg-qualities", "20",
                     "--webp-qualities", "20", "--sim-qualities", "20", "--quiet", "--out", str(out)]) == 0
    result = json.loads((out / "results.json").read_text())
    by_codec = {r["codec"]: r for r in result["rows"]}
    assert by_codec["original"]["total_bytes"] == 12 * 28 * 28
    assert by_codec["jpeg"]["total_bytes"] == by_codec["jpeg-sim"]["total_bytes"]  # same images, same quality
    assert 0 < by_codec["webp"]["total_bytes"] < 12 * 28 * 28
    assert (out / "bytes.png").stat().st_size > 0


def test_experiment_1_train_compressed_tiny(tmp_path):
    out = tmp_path / "e1"
    assert cli.main(["classify", "train-compressed", *TINY, "--epochs", "1", "--jpeg-qualities", "10",
                     "--webp-qualities", "50", "--out", str(out)]) == 0
    rows = _rows(out)
    assert [(r["codec"], r["quality"]) for r in rows] == [("original", ""), ("jpeg", "10"), ("webp", "50")]
    result = json.loads((out / "results.json").read_text())
    assert result["test_on"] == "originals" and result["sizes"] == {"train": 24, "val": 12, "test": 16}
    jpeg = result["rows"][1]
    assert jpeg["total_bytes"] == compressed.pillow_set(_train_subset(), "jpeg", 10).total_bytes
    assert len(jpeg["history"]) == 1 and sum(jpeg["predicted_class_counts"]) == 16
    for name in ("accuracy_vs_quality.png", "accuracy_vs_bytes.png", "tta.png", "per_class.png"):
        assert (out / name).stat().st_size > 0
    # `classify plot` recomputes time-to-accuracy from the stored histories for a new target.
    assert cli.main(["classify", "plot", str(out), "--target-accuracy", "0.0"]) == 0
    replotted = json.loads((out / "results.json").read_text())
    assert replotted["target_accuracy"] == 0.0
    assert [r["tta_s"] for r in replotted["rows"]] == [r["history"][0]["train_time_s"] for r in result["rows"]]


def _train_subset():
    from learned_codec.classify.pipeline import load_splits

    return load_splits("fashion-mnist", 24, 12, 16, 0).train_x


def test_experiment_2_same_quality_tiny(tmp_path):
    out = tmp_path / "e2"
    assert cli.main(["classify", "same-quality", *TINY, "--epochs", "1", "--qualities", "5,75",
                     "--out", str(out)]) == 0
    rows = _rows(out)
    assert [r["quality"] for r in rows] == ["", "5", "75"]
    assert int(rows[1]["total_bytes"]) < int(rows[2]["total_bytes"])
    assert float(rows[1]["psnr_db"]) < float(rows[2]["psnr_db"])


def test_experiment_3_multi_quality_tiny(tmp_path):
    out = tmp_path / "e3"
    assert cli.main(["classify", "multi-quality", *TINY, "--epochs", "1", "--seeds", "0,1", "--stages", "2",
                     "--stage-epochs", "1", "--branch-qualities", "10,60", "--out", str(out)]) == 0
    result = json.loads((out / "results.json").read_text())
    arms = [(r["seed"], r["arm"]) for r in result["rows"]]
    assert arms == [(0, "single"), (0, "multi"), (1, "single"), (1, "multi")]
    multi, single = result["rows"][1], result["rows"][0]
    # One shared backbone: the multi model has the single model's blocks plus a 3x wider head.
    assert multi["parameters"] - single["parameters"] == 2 * (4 * 4 * 128) * 10
    assert set(result["summary"]) == {"single", "multi"} and result["summary"]["multi"]["n"] == 2
    assert (out / "multi_quality.png").stat().st_size > 0


def test_collapse_study_tiny(tmp_path):
    out = tmp_path / "c"
    assert cli.main(["classify", "collapse", *TINY, "--epochs", "1", "--qualities", "20",
                     "--variants", "notebook,fixed", "--out", str(out)]) == 0
    rows = {r["arm"]: r for r in json.loads((out / "results.json").read_text())["rows"]}
    assert rows["notebook"]["distinct_training_images"] == 1 and rows["notebook"]["normalize"] == "none"
    assert rows["fixed"]["distinct_training_images"] == 24 and rows["fixed"]["normalize"] == "train-stats"


@pytest.mark.parametrize("argv,message", [
    (["train-compressed", "--jpeg-qualities", "0"], "quality must be in 1..100"),
    (["same-quality", "--qualities", "5,101"], "quality must be in 1..100"),
    (["train-compressed", "--codecs", "gif"], "unknown codec"),
    (["multi-quality", "--dataset", "cifar10", "--cifar-tarball", "/nonexistent.tar.gz"], "does not exist"),
    (["collapse", "--variants", "keras"], "unknown variant"),
])
def test_experiment_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, message):
    code = cli.main(["classify", *argv, *TINY, "--epochs", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_non_integer_quality_list_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["classify", "same-quality", "--qualities", "high", "--out", "x"])
    assert e.value.code == 2 and "comma-separated list of integers" in capsys.readouterr().err
