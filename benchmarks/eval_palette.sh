#!/usr/bin/env bash
# The palette model (lossless) against the classic codecs, in real bytes:
#  1. the 250 test frames (every 10th frame of the held-out game): image mode and video
#     mode (key frame every GOP frames) beside every baseline of the harness;
#  2. the first N consecutive frames (20 fps) of the held-out game's video: video mode
#     beside H.264 / AV1 (lossy 4:4:4 and lossless) and the lossless image codecs.
#   bash benchmarks/eval_palette.sh [MODEL] [DATA_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-palette}
DATA=${2:-data/pacman}
OUT=${3:-benchmarks/results/palette}
GOP=${GOP:-25}
N=${N:-500}
learned-codec eval --data "$DATA" --models "$MODEL" "$MODEL::gop=$GOP" --no-progress --out "$OUT/test_split"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 - "$DATA" "$TMP" "$N" <<'PY'
import sys
from PIL import Image
from data_tools.frames import load_manifest, load_video
data, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
test = [v["index"] for v in load_manifest(data)["per_video"] if v["split"] == "test"][0]
for i, f in enumerate(load_video(data, test)[:n]):
    Image.fromarray(f).save(f"{out}/frame_{i:05d}.png")
print(f"video {test}: {n} consecutive frames")
PY
learned-codec eval --data "$TMP" --models "$MODEL::gop=$GOP" "$MODEL::gop=$N" \
  --baselines h264,av1,h264rgb-lossless,av1-lossless,png,webp-lossless --no-progress --out "$OUT/test_video"
