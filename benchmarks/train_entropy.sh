#!/usr/bin/env bash
# Trains the hyperprior at several lambdas on the built-in Pac-Man data (CPU, one
# thread, low priority: meant to run in the background while the cores do other work),
# one run per rate-distortion point:
#   bash benchmarks/train_entropy.sh [DATA_DIR] [RUNS_DIR]
# Budget per run: EPOCHS x FRAMES frames (default 8 x 1536 = 12,288 training frames,
# ~2 passes over the 6,206 training images), batch 8, lr 5e-4 (the quick preset's).
# Resumable: a killed run continues from its last checkpoint when the script is re-run.
# INIT_FROM=NAME starts each run from those weights (benchmarks/train_entropy_finetune.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data/pacman}
RUNS=${2:-runs/entropy}
ARCH=${ARCH:-hyperprior}
LMBDAS=${LMBDAS:-"0.0932 0.025 0.18 0.0067"}
EPOCHS=${EPOCHS:-8}
FRAMES=${FRAMES:-1536}
INIT_FROM=${INIT_FROM:-}   # a run or shipped model to fine-tune from (train --init-from)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$RUNS"
for lmbda in $LMBDAS; do
  run="$RUNS/$ARCH-$lmbda"
  if [ -f "$run/test_metrics.json" ]; then echo "skip $run (done)"; continue; fi
  start=(); [ -n "$INIT_FROM" ] && start=(--init-from "$INIT_FROM")
  [ -f "$run/last.json" ] && start=(--resume)
  echo "== $(date +%T) $ARCH lambda=$lmbda"
  /usr/bin/time -f "%e s wall" nice -n 19 learned-codec train --arch "$ARCH" --lmbda "$lmbda" \
    --preset quick --epochs "$EPOCHS" --frames-per-epoch "$FRAMES" --data "$DATA" \
    --out "$run" --seed 0 --quiet "${start[@]}" >> "$run.log" 2>&1 || echo "FAILED: $lmbda (see $run.log)"
  tail -n 1 "$run.log"
done
