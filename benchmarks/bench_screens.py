"""Throughput of the lossless screen codecs (issue 15), classic lossless codecs timed
beside them in the same run: frames/s encoding and decoding held-out ALE screens.

    OMP_NUM_THREADS=1 python -m pytest benchmarks/bench_screens.py -q -p no:cacheprovider \\
        --benchmark-json=benchmarks/results/screens_cpu.json

Frames: 32 raw screens of Ms. Pac-Man (210x160), Pac-Man (250x160) and Space Invaders
(210x160) (sticky-random play, seed 10000) and their 200x160 Lanczos resize. Codecs:
palette-generic (image mode), the game's fitted palette model where one is shipped
("fitted": `palette` for Ms. Pac-Man, `palette-pacman` for Pac-Man), Pillow PNG
(optimize), WebP lossless (method 4) and JPEG XL lossless (imagecodecs, effort 9).
Targets (issue 15, 2 cores): raw encode >= 1,000 frames/s and decode >= 2,000;
resized encode >= 300, decode >= 1,000. The ratio table at the end gives every
codec's frames/s and the generic model's speed-up over WebP lossless.
"""
import numpy as np
import pytest

from conftest import RATIOS, RESULTS, record

N = 32
GAMES = ("ms_pacman", "pacman", "space_invaders")
FITTED = {"ms_pacman": "palette", "pacman": "palette-pacman"}


@pytest.fixture(scope="module")
def screens():
    from data_tools.atari import record as play
    from data_tools.pacman.episode import resize_frame

    out = {}
    for g in GAMES:
        raw = play(g, 10_000, N * 5)[::5]
        out[(g, "raw")] = np.ascontiguousarray(raw)
        out[(g, "resized")] = np.stack([resize_frame(s) for s in raw])
    return out


@pytest.fixture(scope="module")
def codecs():
    from learned_codec.codecs.baselines import jxl_lossless, png, webp_lossless
    from learned_codec.codecs.registry import open_codec

    out = {"palette-generic": open_codec("palette-generic"), "png": png(), "webp-lossless": webp_lossless(),
           "jxl-lossless": jxl_lossless()}
    out.update({("fitted", g): open_codec(name) for g, name in FITTED.items()})
    return out


CODECS = ("palette-generic", "fitted", "png", "webp-lossless", "jxl-lossless")
TARGETS = {("raw", "encode"): ">= 1000 fps", ("raw", "decode"): ">= 2000 fps",
           ("resized", "encode"): ">= 300 fps", ("resized", "decode"): ">= 1000 fps"}


@pytest.mark.parametrize("form", ["raw", "resized"])
@pytest.mark.parametrize("game", GAMES)
@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("op", ["encode", "decode"])
def test_screen_codec(benchmark, screens, codecs, name, game, form, op):
    if name == "fitted" and game not in FITTED:
        pytest.skip(f"no fitted palette model is shipped for {game} (the generic one codes it)")
    codec = codecs[(name, game)] if name == "fitted" else codecs[name]
    frames = screens[(game, form)]
    image = hasattr(codec, "encode_frame")
    if op == "encode":
        run = (lambda: [codec.encode_frame(f) for f in frames]) if image else (lambda: codec.encode(frames))
    else:
        data = [codec.encode_frame(f) for f in frames] if image else codec.encode(frames)
        run = (lambda: [codec.decode_frame(b) for b in data]) if image else (lambda: codec.decode(data))
    out = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    if op == "decode":
        got = np.stack(out) if image else out
        assert np.array_equal(got, frames)
    key = f"{name} {game} {form} {op}"
    mean = record(benchmark, key, N, "frames_per_s")
    RATIOS.append((key, N / mean, TARGETS[(form, op)] if name == "palette-generic" else "info", " fps"))
    webp = f"webp-lossless {game} {form} {op}"
    ours = f"palette-generic {game} {form} {op}"
    if name == CODECS[-1] and webp in RESULTS and ours in RESULTS:
        RATIOS.append((f"palette-generic vs webp-lossless {game} {form} {op}", RESULTS[webp] / RESULTS[ours],
                       "info"))
