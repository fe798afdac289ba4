#!/usr/bin/env bash
# Trains every arch x quant with the quick preset on the built-in Pac-Man data
# (CPU), then collects test-split PSNR/SSIM beside the reference report's table:
#   bash benchmarks/train_quick.sh [DATA_DIR] [RUNS_DIR]
# Output: benchmarks/results/train_quick.{json,md} (OUT=prefix to change); logs in RUNS_DIR/*.log.
# Env: ARCHS, QUANTS (subsets), CODE_SIZE (e.g. 500: the reference's 500-per-block rows of
# fc / fc-deep, in a runs folder of their own).
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data/pacman}
RUNS=${2:-runs/quick}
ARCHS=${ARCHS:-"conv5 fc vae conv4 fc-deep"}
QUANTS=${QUANTS:-"none naive affine"}
OUT=${OUT:-benchmarks/results/train_quick}
CODE=(); [ -n "${CODE_SIZE:-}" ] && CODE=(--code-size "$CODE_SIZE")
mkdir -p "$RUNS"
for arch in $ARCHS; do
  for quant in $QUANTS; do
    run="$RUNS/$arch-$quant"
    if [ -f "$run/test_metrics.json" ]; then echo "skip $run (done)"; continue; fi
    resume=(); [ -f "$run/last.json" ] && resume=(--resume)
    echo "== $(date +%T) $arch $quant"
    /usr/bin/time -f "%e s wall" learned-codec train --arch "$arch" --quant "$quant" \
      --preset quick --data "$DATA" --out "$run" --seed 0 --quiet "${CODE[@]}" "${resume[@]}" \
      > "$run.log" 2>&1 || echo "FAILED: $arch $quant (see $run.log)"
    tail -n 1 "$run.log"
  done
done
python3 benchmarks/collect_train_results.py "$RUNS" "$OUT"
