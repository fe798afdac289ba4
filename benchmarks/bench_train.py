"""conv5 training step: today's loop against the faster one, side by side in one run.

    OMP_NUM_THREADS=1 BENCH_THREADS=1 python -m pytest benchmarks/bench_train.py -q -p no:cacheprovider \
        --benchmark-json=benchmarks/results/train_cpu.json
    (BENCH_COMPILE=1 adds the torch.compile variants: ~2 min of compiling each)

One step = batch to tensor + forward + MSE loss + backward + Adam step, on 16 Ms. Pac-Man
frames (200x160, padded to 224x160 inside conv5), naive straight-through quantizer, as
`learned-codec train --arch conv5 --quant naive` runs it. Variants:
    old          today's loop: train.batch_tensor (a permuted, channels-last strided view)
    contiguous   the same batch made NCHW contiguous (train_speed.batch_tensor_fast)
    channels_last  model and batch in channels_last (not used: BatchNorm is slower so)
    crop         contiguous + random 128x160 crops (cpu-long's first 80 % of the epochs)
    compile      torch.compile(model) (inductor C++), whole frames / crops
Ratios: old step time / variant step time = frames/s speed-up (a crop counts as a frame;
its pixels/s are in extra_info). Thread count from BENCH_THREADS (default 1) for all variants.
"""
import os
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from learned_codec.training import data as train_mod
from learned_codec.training import speed as train_speed
from learned_codec.models import build_model, default_config
from learned_codec.quant.training import make_train_quantizer

from conftest import RATIOS, ratio, record

BATCH = 16
CROP = (128, 160)
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
COMPILE = os.environ.get("BENCH_COMPILE") == "1"


@pytest.fixture(scope="module", autouse=True)
def threads():
    old = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(old)


def make_step(frames, variant):
    torch.manual_seed(0)
    model = build_model(default_config("conv5"))
    model.code_quantizer = make_train_quantizer("naive")
    model.train()
    cl = variant == "channels_last"
    if cl:
        model = model.to(memory_format=torch.channels_last)
    run = torch.compile(model, dynamic=False) if variant.startswith("compile") else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crop = CROP if variant in ("crop", "compile_crop") else None
    rng = np.random.default_rng(0)
    state = {"i": 0}

    def step():
        i = state["i"] % (len(frames) // BATCH)
        state["i"] += 1
        idx = np.arange(i * BATCH, (i + 1) * BATCH)
        if variant == "old":
            x = train_mod.batch_tensor(frames, idx, "cpu")
        else:
            x = train_speed.batch_tensor_fast(frames, idx, "cpu", crop, rng)
            if cl:
                x = x.contiguous(memory_format=torch.channels_last)
        out = run(x)
        loss = F.mse_loss(out["x_hat"], x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return x.shape[-2] * x.shape[-1]

    return step


def bench_variant(benchmark, frames, variant, rounds=4):
    step = make_step(frames, variant)
    t0 = time.perf_counter()
    pixels = step()  # warm-up (and compile)
    first = time.perf_counter() - t0
    benchmark.group = f"conv5 train step, batch {BATCH}, {THREADS} thread(s) (frames/s)"
    benchmark.pedantic(step, rounds=rounds, iterations=1, warmup_rounds=1)
    mean = record(benchmark, variant, BATCH, "frames_per_s")
    benchmark.extra_info["pixels_per_s"] = BATCH * pixels / mean
    benchmark.extra_info["first_step_s"] = first
    benchmark.extra_info["threads"] = THREADS
    benchmark.extra_info["input_hw"] = [BATCH, 3, *((CROP) if "crop" in variant else (200, 160))]
    return mean


def test_step_old(benchmark, pacman_frames):
    bench_variant(benchmark, pacman_frames, "old")


def test_step_contiguous(benchmark, pacman_frames):
    bench_variant(benchmark, pacman_frames, "contiguous")
    ratio(benchmark, "conv5 step: contiguous NCHW batch vs old", "contiguous", "old", "(info)")


def test_step_channels_last(benchmark, pacman_frames):
    bench_variant(benchmark, pacman_frames, "channels_last")
    ratio(benchmark, "conv5 step: channels_last model+batch vs old", "channels_last", "old", "(info)")


def test_step_crop(benchmark, pacman_frames):
    bench_variant(benchmark, pacman_frames, "crop")
    ratio(benchmark, "conv5 step: contiguous + 128x160 crops vs old (frames/s)", "crop", "old", ">= 2x")
    from conftest import RESULTS

    if "contiguous" in RESULTS:
        px = RESULTS["contiguous"] / RESULTS["crop"] * (CROP[0] * CROP[1]) / (224 * 160)
        RATIOS.append(("conv5 step: crops, pixels/s vs contiguous whole (224x160 padded)", px, "(info)"))


@pytest.mark.skipif(not COMPILE, reason="BENCH_COMPILE=1 to run (minutes of compiling)")
def test_step_compile(benchmark, pacman_frames):
    bench_variant(benchmark, pacman_frames, "compile")
    ratio(benchmark, "conv5 step: torch.compile, whole frames vs old", "compile", "old", "(info)")
    ratio(benchmark, "conv5 step: torch.compile vs contiguous eager", "compile", "contiguous", "(info)")


@pytest.mark.skipif(not COMPILE, reason="BENCH_COMPILE=1 to run (minutes of compiling)")
def test_step_compile_crop(benchmark, pacman_frames):
    bench_variant(benchmark, pacman_frames, "compile_crop")
    ratio(benchmark, "conv5 step: torch.compile + crops vs old (frames/s)", "compile_crop", "old", ">= 2x")
