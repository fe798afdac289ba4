"""Shared pieces of the throughput suites: input data and the ratio table.

Run with, e.g.
    python -m pytest benchmarks/bench_ops.py --benchmark-json benchmarks/results/ops_cpu.json
Each benchmark stores its throughput and, for our kernels, the ratio to each
baseline measured earlier in the same run (benchmark.extra_info); the table
of ratios is printed at the end of the run.
"""
import os

import numpy as np
import pytest

RESULTS = {}  # name -> mean seconds per call, filled as benchmarks finish
RATIOS = []   # (what, measured ratio, target text[, unit: default "x"])


def record(benchmark, name, units=None, unit_name=None):
    """Remember a finished benchmark's mean time; store throughput in extra_info."""
    mean = benchmark.stats.stats.mean
    RESULTS[name] = mean
    if units is not None:
        benchmark.extra_info[unit_name] = units / mean
    return mean


def ratio(benchmark, what, ours, baseline, target, higher_is_better=True):
    """Store ours-vs-baseline speed-up (baseline time / our time) when both ran."""
    if ours not in RESULTS or baseline not in RESULTS:
        return None
    r = RESULTS[baseline] / RESULTS[ours]
    benchmark.extra_info[f"speedup_vs_{baseline}"] = r
    RATIOS.append((what, r, target))
    return r


def pytest_terminal_summary(terminalreporter):
    if not RATIOS:
        return
    terminalreporter.write_sep("=", "speed-ups (baseline time / our time) and throughputs")
    for what, r, target, *unit in RATIOS:
        terminalreporter.write_line(f"{what:<60} {r:8.2f}{unit[0] if unit else 'x':<4}  target {target}")


def cpu_cores():
    return len(os.sched_getaffinity(0))


@pytest.fixture(scope="session")
def pacman_frames():
    """64 Ms. Pac-Man frames, 200 x 160 RGB uint8 (data set if present, else the emulator)."""
    path = os.path.join(os.path.dirname(__file__), "..", "data", "pacman", "images", "test.npy")
    if os.path.exists(path):
        frames = np.load(path, mmap_mode="r")
        if len(frames) >= 64 and frames.shape[1:] == (200, 160, 3):
            return np.ascontiguousarray(frames[:64])
    from ale_py import ALEInterface, roms
    from PIL import Image

    ale = ALEInterface()
    ale.setInt("random_seed", 0)
    ale.loadROM(roms.get_rom_path("ms_pacman"))
    actions = ale.getMinimalActionSet()
    rng = np.random.RandomState(0)
    frames, step = [], 0
    while len(frames) < 64:
        ale.act(actions[rng.randint(len(actions))])
        if ale.game_over():
            ale.reset_game()
        step += 1
        if step >= 100 and step % 10 == 0:
            frames.append(np.asarray(Image.fromarray(ale.getScreenRGB()).resize((160, 200), Image.LANCZOS)))
    return np.stack(frames)
