"""How much an entropy-coded model's integer latent changes between consecutive frames,
and what its change costs packed as int8 or int16 (the entropy-delta video mode's choice):

    python3 benchmarks/latent_change.py [MODEL] [FRAMES]     # default: hyperprior 100

MODEL: a run folder or shipped name of an entropy-coded model; FRAMES: the first N
frames of the Pac-Man test split (data/pacman). Prints JSON.
"""
import json
import sys

import numpy as np

from data_tools.frames import load_split
from learned_codec.codecs.learned import LearnedCodec
from learned_codec.quant.latent import pack_symbols


def main(model="hyperprior", n=100):
    frames = np.ascontiguousarray(load_split("data/pacman", "test")[:int(n)])
    codec = LearnedCodec.load(model)
    if codec.quant != "entropy":
        raise SystemExit(f"{model} is not an entropy-coded model")
    payloads, symbols = codec.entropy_encode(frames)
    symbols = symbols.numpy().astype(np.int64)
    change = symbols[1:] - symbols[:-1]
    print(json.dumps({
        "model": str(model), "frames": len(frames),
        "symbol_range": [int(symbols.min()), int(symbols.max())],
        "change_range": [int(change.min()), int(change.max())],
        "unchanged_fraction": float((change == 0).mean()),
        "intra_bytes_per_frame": float(np.mean([len(p) for p in payloads[1:]])),
        "change_int16_bytes_per_frame": float(np.mean([len(pack_symbols(c.astype("<i2").tobytes())) for c in change])),
        "change_int8_bytes_per_frame": float(np.mean([len(pack_symbols(np.clip(c, -128, 127).astype("i1").tobytes()))
                                                      for c in change])),
    }, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:3])
