#!/usr/bin/env bash
# The Pac-Man downstream task on the codecs' decoded frames (issue #18), CPU-sized:
#   bash benchmarks/classify_pacman.sh [DATA_DIR] [OUT_DIR]
# Trains small-resnet and the notebook CNN (adapted to 200x160) on 2,000 original training
# frames (3 epochs, batch 64 (the default), one-cycle Adam 1e-3), tests both on 300 held-out frames (val +
# test games) decoded by JPEG 4:4:4 / 4:2:0, WebP, AVIF 4:4:4, H.264 / AV1 4:4:4 and the
# shipped learned codecs, then trains small-resnet on JPEG q=10 frames (experiment 2).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data/pacman}
OUT=${2:-benchmarks/results/classify/pacman}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$OUT"
/usr/bin/time -f "%e s wall" learned-codec classify codecs --dataset pacman --data "$DATA" \
  --archs small-resnet,notebook-cnn --train-size 2000 --test-size 300 --epochs 3 \
  --same-codec jpeg:q=10 --quiet --out "$OUT" 2>&1 | tee "$OUT/run.log"
