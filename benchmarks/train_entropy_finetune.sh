#!/usr/bin/env bash
# The hyperprior at more rates, CPU-sized: fine-tune the shipped hyperprior (lambda 0.0932,
# 8 x 1536 frames from scratch) at each other lambda for EPOCHS x FRAMES frames
# (default 2 x 1536), one thread, one run after the other; resumable.
#   bash benchmarks/train_entropy_finetune.sh [DATA_DIR] [RUNS_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data/pacman}
RUNS=${2:-runs/entropy-ft}
LMBDAS=${LMBDAS:-"0.0018 0.0067 0.025"}
EPOCHS=${EPOCHS:-2}
FRAMES=${FRAMES:-1536}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$RUNS"
for lmbda in $LMBDAS; do
  run="$RUNS/hyperprior-$lmbda"
  if [ -f "$run/test_metrics.json" ]; then echo "skip $run (done)"; continue; fi
  start=(--init-from hyperprior); [ -f "$run/last.json" ] && start=(--resume)
  echo "== $(date +%T) hyperprior lambda=$lmbda"
  /usr/bin/time -f "%e s wall" learned-codec train --arch hyperprior --lmbda "$lmbda" \
    --preset quick --epochs "$EPOCHS" --frames-per-epoch "$FRAMES" --data "$DATA" \
    --out "$run" --seed 0 --quiet "${start[@]}" >> "$run.log" 2>&1 || echo "FAILED: $lmbda (see $run.log)"
  tail -n 1 "$run.log"
done
