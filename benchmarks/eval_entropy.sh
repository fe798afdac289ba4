#!/usr/bin/env bash
# Rate-distortion of the entropy-coded runs made by benchmarks/train_entropy.sh, in real
# bytes (.lcf files, rANS strings), on the 250 Pac-Man test frames, beside the classic
# codecs of the evaluation harness; each run in image mode and in the entropy-delta video
# mode (key frame every GOP frames, default 25):
#   bash benchmarks/eval_entropy.sh [DATA_DIR] [RUNS_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data/pacman}
RUNS=${2:-runs/entropy}
OUT=${3:-benchmarks/results/entropy_rd}
BASELINES=${BASELINES:-jpeg,webp,avif,h264,av1}
GOP=${GOP:-25}
models=()
for run in "$RUNS"/*/; do
  [ -f "$run/model.safetensors" ] && models+=("${run%/}" "${run%/}:entropy:gop=$GOP")
done
[ ${#models[@]} -gt 0 ] || { echo "no trained runs under $RUNS" >&2; exit 2; }
learned-codec eval --data "$DATA" --models "${models[@]}" --baselines "$BASELINES" --no-progress --out "$OUT"
