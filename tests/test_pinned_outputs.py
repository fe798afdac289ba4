"""The shipped models' files and decoded frames, pinned by SHA-256.

A refactor must not change a single byte that a shipped codec writes or decodes.
`python3 tests/test_pinned_outputs.py` (re)writes tests/data/pinned_outputs.json;
do that only when a change of output is intended (new weights), and say so.

The palette codecs are integer-only (context tables + rANS; adaptive context mixing):
their bytes are pinned on every machine. conv5 and the hyperprior run float convolutions, whose last bits depend
on the CPU's instruction set (oneDNN picks AVX2 or AVX-512 kernels), so a naive-rounded
code may differ by one step on another CPU: their pins are checked where torch reports
the CPU capability they were recorded on, and skipped (with that reason) elsewhere.
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

PINS = Path(__file__).parent / "data" / "pinned_outputs.json"
# (shipped model, quantizer, gop or None) -> one encoded file and its decode
CASES = [("conv5", "naive", None), ("conv5", "naive", 4), ("hyperprior", "entropy", None),
         ("hyperprior", "entropy", 4), ("palette", None, None), ("palette", None, 4),
         ("palette-generic", None, None), ("palette-generic", None, 4)]


def _frames(model):
    """Deterministic 200x160 inputs: palette screens of the shipped palette rendered as the
    data set renders them (so the palette model codes them as emulator frames), the same
    frames for every model."""
    from learned_codec.codecs import open_codec
    from learned_codec.palette.resample import resize_height

    palette = open_codec("palette").palette
    rng = np.random.default_rng(2026)
    screen = rng.integers(0, 3, size=(210, 160)).repeat(1, 0)
    screen = np.where(rng.random((210, 160)) < 0.9, 0, screen).astype(np.uint8)
    screens = np.repeat(screen[None], 6, 0)
    for t in range(6):  # a sprite that moves
        screens[t, 40 + 5 * t:48 + 5 * t, 30 + 3 * t:37 + 3 * t] = 2
    return resize_height(palette[screens], 200)


def _outputs(name, quant, gop):
    from learned_codec.codecs import make_video_codec, open_codec

    codec = open_codec(name, quant=quant)
    if gop:
        codec = make_video_codec(codec, gop=gop)
    frames = _frames(name)
    data = codec.encode(frames)
    decoded = codec.decode(data)
    return {"file_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "decoded_sha256": hashlib.sha256(np.ascontiguousarray(decoded).tobytes()).hexdigest()}


def _key(name, quant, gop):
    return f"{name}:{quant or ''}:gop={gop or 0}"


def _capability():
    import torch

    return f"torch {torch.__version__.split('+')[0]} cpu {torch.backends.cpu.get_cpu_capability()}"


def _case(name, quant, gop):
    """Float models' pins hold where they were recorded (see the module doc); palette everywhere."""
    recorded = json.loads(PINS.read_text())["recorded_on"]
    other_cpu = not name.startswith("palette") and recorded != _capability()
    return pytest.param(name, quant, gop, id=_key(name, quant, gop), marks=pytest.mark.skipif(
        other_cpu, reason=f"float model pinned on '{recorded}', this is '{_capability()}'"))


@pytest.mark.parametrize("name,quant,gop", [_case(*c) for c in CASES])
def test_shipped_outputs_are_unchanged(name, quant, gop):
    pin = json.loads(PINS.read_text())["cases"][_key(name, quant, gop)]
    assert _outputs(name, quant, gop) == pin


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    PINS.parent.mkdir(exist_ok=True)
    out = {"recorded_on": _capability(), "cases": {_key(*c): _outputs(*c) for c in CASES}}
    PINS.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(json.dumps(out, indent=2))
