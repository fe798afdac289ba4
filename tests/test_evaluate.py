"""The harness on tiny synthetic frames: report files exist, parse and say what happened."""
import csv
import json
import zlib

import numpy as np
import pytest

from learned_codec import cli
from learned_codec.codecs import baselines as baselines
from learned_codec.codecs.base import ImageCodec, VideoCodec
from learned_codec.eval.harness import evaluate
from learned_codec.eval.report import REFERENCE_ROWS, reference_table_markdown
from data_tools.frames import subsample
from learned_codec.commands.evaluate import parse_qualities


def tiny_frames(n=3, h=40, w=32):
    rng = np.random.default_rng(2)
    frames = np.zeros((n, h, w, 3), np.uint8)
    frames[..., 2] = 140
    frames[:, ::6] = (220, 110, 110)
    for i in range(n):
        frames[i, 10 + i:16 + i, 8:14] = (230, 230, 60)
    frames[:, -4:] = rng.integers(0, 255, size=(n, 4, w, 3))
    return frames


class PosterizeCodec(ImageCodec):
    """A stand-in for a learned codec: keep `bits` bits per sample, deflate them."""

    name = "toy-learned"
    arch, quant, code_entries = "conv4", "none", 16640  # matches a reference row
    model_bytes = 1234

    def __init__(self, bits):
        self.bits = bits
        self.setting = f"bits={bits}"

    def encode_frame(self, frame):
        h, w, _ = frame.shape
        return bytes([h, w]) + zlib.compress((frame >> (8 - self.bits)).tobytes(), 9)

    def decode_frame(self, data):
        h, w = data[0], data[1]
        q = np.frombuffer(zlib.decompress(data[2:]), np.uint8).reshape(h, w, 3)
        return (q << (8 - self.bits)) + (1 << (7 - self.bits))


class BrokenVideoCodec(VideoCodec):
    name, setting = "broken", "x"

    def encode(self, frames):
        return b"abc"

    def decode(self, data):
        raise RuntimeError("cannot decode")


def test_report_files_exist_parse_and_list_every_codec(tmp_path):
    frames = tiny_frames()
    classic, missing = baselines.make_baselines(["jpeg", "png"], {"jpeg": [40, 70, 90]})
    codecs = [PosterizeCodec(b) for b in (3, 4, 5, 6)] + classic + [BrokenVideoCodec()]
    missing = missing + [{"codec": "av1", "setting": "crf=30", "reason": "no libaom-av1 here"}]
    report = evaluate(frames, codecs, tmp_path, missing=missing, source="synthetic",
                      progress=False)

    for name in ("rd.csv", "report.json", "report.md", "rd_psnr.png", "rd_ssim.png", "crops.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    for png in ("rd_psnr.png", "rd_ssim.png", "crops.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    with open(tmp_path / "rd.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for col in ("codec", "setting", "bytes_per_frame", "bpp", "psnr", "ssim",
                "encode_fps", "decode_fps"):
        assert col in rows[0]
    by_label = {(r["codec"], r["setting"]): r for r in rows}
    assert by_label[("av1", "crf=30")]["status"] == "missing: no libaom-av1 here"
    assert by_label[("broken", "x")]["status"].startswith("failed: RuntimeError: cannot decode")
    assert by_label[("png", "optimize")]["psnr"] == "inf"
    toy = by_label[("toy-learned", "bits=4")]
    assert toy["model_bytes"] == "1234"
    # bytes are the real per-frame files, recomputed here independently
    expected = sum(len(PosterizeCodec(4).encode_frame(f)) for f in frames) / len(frames)
    assert float(toy["bytes_per_frame"]) == pytest.approx(expected)
    assert float(toy["bpp"]) == pytest.approx(expected * 8 / (40 * 32))

    data = json.loads((tmp_path / "report.json").read_text())
    assert data["source"]["frames"] == 3
    assert {"python", "numpy", "pillow", "torch", "ffmpeg", "cpu", "device"} <= set(data["environment"])
    bd = {(b["test"], b["anchor"]): b for b in data["bd_rates"]}
    assert ("toy-learned", "jpeg") in bd
    b = bd[("toy-learned", "jpeg")]
    assert (b["bd_rate_percent"] is None) == (b["reason"] is not None)
    assert len(data["rows"]) == len(report["rows"]) == 4 + 3 + 1 + 1 + 1

    md = (tmp_path / "report.md").read_text()
    assert "missing: no libaom-av1 here" in md and "![crops](crops.png)" in md
    assert "| CNN 4 layers |" in md and md.count("not measured") >= 4 * 10


def test_reference_table_has_eleven_rows_and_never_invents_numbers():
    assert len(REFERENCE_ROWS) == 11
    empty = reference_table_markdown([])
    body = empty.splitlines()[2:]
    assert len(body) == 11 and all(line.count("not measured") == 4 for line in body)
    row = {"status": "ok", "arch": "fc", "quant": "naive", "code_entries": 16000,
           "bytes_per_frame": 12000.0, "psnr": 35.5, "ssim": 0.93}
    filled = reference_table_markdown([row]).splitlines()[2:]
    assert "| 12000 | 0.1250 | 35.50 | 0.9300 |" in filled[1]  # row 2: Vanilla FC, naive
    assert sum("not measured" in line for line in filled) == 10


def test_reference_table_reads_committed_runs(tmp_path):
    from learned_codec.errors import UserError
    from learned_codec.eval.report import read_committed_rows
    from learned_codec.reporting import write_csv

    cols = ["codec", "setting", "status", "arch", "quant", "code_entries", "bytes_per_frame", "psnr", "ssim"]
    committed = tmp_path / "rd.csv"
    write_csv(committed, [
        dict(codec="fc-naive", setting="runs/quick/fc-naive", status="ok", arch="fc", quant="naive",
             code_entries=16000, bytes_per_frame=9000, psnr=32.0, ssim=0.91),
        dict(codec="fc-naive", setting="runs/long/fc-naive", status="ok", arch="fc", quant="naive",
             code_entries=16000, bytes_per_frame=9500, psnr=34.0, ssim=0.93),
        dict(codec="conv5-none", setting="runs/quick/conv5-none", status="ok", arch="conv5", quant="none",
             code_entries=8960, bytes_per_frame=19000, psnr=24.5, ssim=0.70),
        dict(codec="jpeg", setting="q=50", status="ok", bytes_per_frame=5000, psnr=30.7, ssim=0.93)], cols)
    rows = read_committed_rows([committed])
    assert len(rows) == 3 and {r["source"] for r in rows} == {str(committed)}
    this_run = {"status": "ok", "arch": "conv5", "quant": "none", "code_entries": 8960, "setting": "conv5",
                "bytes_per_frame": 18000.0, "psnr": 27.5, "ssim": 0.82}
    table = reference_table_markdown([this_run], rows).splitlines()[2:]
    assert "| 9500 | 0.0990 | 34.00 | 0.9300 | runs/long/fc-naive (" + str(committed) + ") |" in table[1]
    assert "| 18000 | 0.1875 | 27.50 | 0.8200 | conv5 (this run) |" in table[9]   # this run wins
    assert sum("not measured" in line for line in table) == 9
    with pytest.raises(UserError, match="cannot read"):
        read_committed_rows([tmp_path / "absent.csv"])
    bad = tmp_path / "bad.csv"
    bad.write_text("codec,status,arch\nfc,ok,fc\n")
    with pytest.raises(UserError, match="not an rd.csv"):
        read_committed_rows([bad])


def test_cli_eval_on_a_data_folder(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    np.save(data / "images" / "test.npy", tiny_frames(4))
    out = tmp_path / "report"
    rc = cli.main(["eval", "--data", str(data), "--frames", "2", "--baselines", "jpeg,png",
                   "--qualities", "jpeg=50,90", "--no-progress", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "2 of 4 frames" in printed and str(out / "report.md") in printed
    with open(out / "rd.csv", newline="") as f:
        assert [(r["codec"], r["setting"]) for r in csv.DictReader(f)] == \
            [("jpeg", "q=50"), ("jpeg", "q=90"), ("png", "optimize")]


def test_cli_errors_are_one_line_user_errors(tmp_path, capsys):
    assert cli.main(["eval", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path)]) == 2
    assert "learned-codec data pacman" in capsys.readouterr().err
    # a model that is neither a run folder nor shipped: one line naming the shipped ones
    assert cli.main(["eval", "--models", "conv3", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no model at conv3" in err and "shipped: " in err and "Traceback" not in err


def test_quality_and_subsampling_options():
    assert parse_qualities(["avif=30,50", "h264=20"]) == {"avif": [30, 50], "h264": [20]}
    assert parse_qualities(["60"])["jpeg"] == [60] and "h264" not in parse_qualities(["60"])
    frames = np.arange(10)
    assert list(subsample(frames, 4)) == [0, 3, 6, 9]
    assert list(subsample(frames, 20)) == list(range(10))
