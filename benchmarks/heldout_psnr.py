"""PSNR of a codec on held-out Ms. Pac-Man episodes (a data set made with a seed never used
in training), every split of it, through real files:

    learned-codec data pacman --out /tmp/heldout --seed 7 --videos 2
    python3 benchmarks/heldout_psnr.py conv5 /tmp/heldout > benchmarks/results/train_cpu/conv5-cpu-long/heldout_seed7.json
"""
import json
import sys

import numpy as np

from data_tools import frames as F
from learned_codec.codecs.registry import open_codec
from learned_codec.eval.metrics import psnr_per_frame, ssim


def main(model, root):
    codec = open_codec(model)
    manifest = F.load_manifest(root)
    out = {"model": model, "weights_sha256": codec.weights_sha256, "data": root,
           "seed": manifest["seed"], "test_split_psnr": codec.test_psnr, "splits": {}}
    for split in F.SPLITS:
        x = np.asarray(F.load_split(root, split))
        if not len(x):
            continue
        data = codec.encode(x)
        y = codec.decode(data)
        out["splits"][split] = {"frames": len(x), "psnr": float(np.mean(psnr_per_frame(x, y))),
                                "ssim": float(ssim(x, y)), "bytes_per_frame": len(data) / len(x)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
