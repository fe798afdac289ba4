"""Out of domain is said: a lossy learned codec far below its own test-split PSNR warns."""
import json

import numpy as np
import pytest

from data_tools import frames as F
from data_tools import pacman
from learned_codec.cli import main
from learned_codec.codecs.domain import OUT_OF_DOMAIN_DB, check_domain, domain_warning
from learned_codec.codecs.registry import open_codec
from learned_codec.eval.report import domain_lines


@pytest.fixture(scope="module")
def pacman_frames(tmp_path_factory):
    out = tmp_path_factory.mktemp("domain")
    pacman.make_dataset(out, seed=3, videos=1, frames_per_video=40, progress=False, workers=1)
    return F.load_split(out, "train")


def _blocks(seed=0):
    rng = np.random.default_rng(seed)
    return np.repeat(np.repeat(rng.integers(0, 256, (3, 25, 20, 3), dtype=np.uint8), 8, 1), 8, 2)


def test_shipped_lossy_models_know_their_test_psnr():
    assert open_codec("conv5").test_psnr > 20
    assert open_codec("hyperprior").test_psnr > 20
    assert getattr(open_codec("palette"), "test_psnr", None) is None   # lossless: nothing to warn


def test_warning_only_far_below_the_test_split():
    assert domain_warning("conv5", 25.0, 26.4) is None
    line = domain_warning("conv5", 26.4 - OUT_OF_DOMAIN_DB - 0.1, 26.4)
    assert "outside what the model learned" in line and "\n" not in line


def test_pacman_frames_are_in_domain_coloured_blocks_are_not(pacman_frames):
    codec = open_codec("conv5")
    measured, reference = check_domain(codec, pacman_frames)
    assert domain_warning("conv5", measured, reference) is None, (measured, reference)
    measured, reference = check_domain(codec, _blocks())
    assert domain_warning("conv5", measured, reference) is not None, (measured, reference)


def test_encode_says_so_on_stderr(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for i, img in enumerate(_blocks()):
        Image.fromarray(img).save(folder / f"p{i}.png")
    assert main(["encode", str(folder), "-o", str(tmp_path / "x.lcf"), "--model", "conv5", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "warning: conv5 reconstructs this input at" in captured.err
    report = json.loads(captured.out)
    assert report["sample_psnr"] < report["model_test_psnr"] - OUT_OF_DOMAIN_DB


def test_eval_report_flags_the_row():
    rows = [{"status": "ok", "codec": "conv5-naive", "setting": "conv5", "psnr": 9.5, "test_split_psnr": 26.4},
            {"status": "ok", "codec": "jpeg", "setting": "q=50", "psnr": 30.0, "test_split_psnr": None}]
    lines = domain_lines(rows)
    assert len(lines) == 2 and "Out of domain" in lines[0] and "conv5-naive" in lines[0]
