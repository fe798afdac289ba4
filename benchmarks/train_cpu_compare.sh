#!/usr/bin/env bash
# Short old-vs-new recipe comparison for conv5 (issue 16), one core each, one after another,
# ~9 min of training each: val PSNR per CPU-minute. Curves: benchmarks/plot_train_curves.py.
#   old:      today's loop and quick recipe (constant lr 2e-3, whole frames, permuted batches)
#   cosine:   warm-up + cosine only (whole frames, contiguous batches)
#   new:      cpu-long's recipe (cosine + 128x160 crops for the first 80 % + contiguous batches)
# Runs: runs/compare/conv5-{old,cosine,new}; log runs/compare/compare.log.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-/work/main/data/pacman}
export OMP_NUM_THREADS=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
COMMON="--arch conv5 --quant naive --data $DATA --threads 1 --batch-size 16 --lr 2e-3 --frames-per-epoch 512 --val-frames 64 --ssim-frames 16 --no-test --quiet"
mkdir -p runs/compare
for run in ${RUNS:-old new cosine}; do
  case $run in
    old)    opts="--preset quick --epochs 6" ;;
    cosine) opts="--preset quick --epochs 6 --lr-schedule cosine --warmup-steps 20 --min-lr-ratio 0.01 --fast-batch" ;;
    new)    opts="--preset cpu-long --epochs 10 --warmup-steps 20" ;;
  esac
  [ -f runs/compare/conv5-$run/last.json ] && continue
  echo "== $run: $(date -u +%FT%TZ)" >> runs/compare/compare.log
  # shellcheck disable=SC2086
  python3 -m learned_codec train $COMMON $opts --out runs/compare/conv5-$run >> runs/compare/compare.log 2>&1
done
