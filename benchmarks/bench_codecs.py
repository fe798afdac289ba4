"""Encode / decode throughput (frames/s) of the learned codecs on CPU, with Pillow
JPEG and WebP measured beside them in the same run.

    python -m pytest benchmarks/bench_codecs.py -q -p no:cacheprovider \
        --benchmark-json=benchmarks/results/codecs_cpu.json

Throughput does not depend on the weights' values, so models are built untrained
(seeded; the entropy-coded ones with their CDF tables filled, quantizer
`entropy`, the others `naive`; the palette model is the shipped one, its speed depends
on its tables); the frames are 32 Pac-Man-sized 200x160 frames (the test split of
data/pacman when it exists, else a synthetic maze-like image). Target (issue #5):
conv5 encode+decode >= 30 frames/s on 2 CPU cores.
"""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import RESULTS, RATIOS, record
from learned_codec.models.checkpoint import weights_sha256
from learned_codec.codecs.learned import LearnedCodec
from learned_codec.models import build_model
from learned_codec.models.registry import default_config
from learned_codec.palette.codec import PaletteCodec

N = 32


@pytest.fixture(scope="module")
def frames():
    try:
        from data_tools.frames import load_split

        test = load_split("data/pacman", "test")
        return np.ascontiguousarray(test[np.linspace(0, len(test) - 1, N).astype(int)])
    except Exception:  # no data set: a blocky synthetic frame, still 200x160
        rng = np.random.default_rng(0)
        tiles = rng.integers(0, 4, (N, 25, 20, 1), dtype=np.uint8) * 80
        return np.repeat(np.repeat(np.repeat(tiles, 8, 1), 8, 2), 3, 3)


def _codec(arch, quant):
    torch.manual_seed(0)
    cfg = default_config(arch)
    if arch in ("fc", "fc-deep"):
        cfg["blocks"] = "shared"
    model = build_model(cfg).eval()
    if getattr(model, "entropy_coded", False):
        model.update(force=True)  # CDF tables from the (untrained) entropy models
    return LearnedCodec(model, {"model": cfg, "weights_sha256": weights_sha256(model.state_dict())},
                        quant=quant)


def _pillow(frames, fmt, **opts):
    out = []
    for f in frames:
        buf = io.BytesIO()
        Image.fromarray(f).save(buf, format=fmt, **opts)
        out.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
    return out


@pytest.mark.parametrize("fmt, opts", [("JPEG", {"quality": 90, "subsampling": 0}),
                                       ("WEBP", {"quality": 90, "method": 4}),
                                       ("PNG", {"optimize": True}),
                                       ("WEBP-lossless", {"lossless": True, "quality": 100, "method": 4})])
def test_pillow_round_trip(benchmark, frames, fmt, opts):
    benchmark.pedantic(_pillow, args=(frames, fmt.split("-")[0]), kwargs=opts, rounds=3, iterations=1)
    record(benchmark, f"pillow-{fmt}", N, "frames_per_s")


ARCHS = ["conv4", "conv5", "fc", "fc-deep", "vae", "factorized", "hyperprior"]


@pytest.mark.parametrize("arch", ARCHS + ["conv5-shipped", "palette-shipped", "palette-video-shipped"])
@pytest.mark.parametrize("step", ["encode", "decode"])
def test_learned_codec(benchmark, frames, arch, step):
    torch.set_num_threads(2)
    if arch == "conv5-shipped":  # the default model's real weights: real code statistics
        codec = LearnedCodec.load("conv5")
    elif arch.startswith("palette"):  # lossless; its speed depends on its tables: shipped ones
        codec = PaletteCodec.load("palette", gop=25 if "video" in arch else 0)
    else:
        codec = _codec(arch, "entropy" if arch in ("factorized", "hyperprior") else "naive")
    data = codec.encode(frames)
    fn = codec.encode if step == "encode" else codec.decode
    arg = frames if step == "encode" else data
    benchmark.pedantic(fn, args=(arg,), rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, f"{arch}-{step}", N, "frames_per_s")
    benchmark.extra_info["bytes_per_frame"] = len(data) / N
    other = "decode" if step == "encode" else "encode"
    if f"{arch}-{other}" in RESULTS:
        per_frame = (RESULTS[f"{arch}-encode"] + RESULTS[f"{arch}-decode"]) / N
        benchmark.extra_info["encode_plus_decode_fps"] = 1 / per_frame
        target = ">= 30 fps" if arch.startswith("conv5") else "info"
        RATIOS.append((f"{arch} encode+decode", 1 / per_frame, target, " fps"))
        png = RESULTS.get("pillow-PNG")
        if png and arch.startswith("palette"):  # the lossless image codec beside it
            RATIOS.append((f"{arch} encode+decode vs Pillow PNG", png / N * (1 / per_frame), "info"))
        jpeg = RESULTS.get("pillow-JPEG")
        if jpeg:  # Pillow JPEG q90 encode+decode, measured earlier in this run
            benchmark.extra_info["pillow_jpeg_q90_fps"] = N / jpeg
            RATIOS.append((f"{arch} encode+decode vs Pillow JPEG q90", jpeg / N * (1 / per_frame), "info"))
