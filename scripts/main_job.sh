#!/usr/bin/env bash
# The main job on the built-in Pac-Man data: make the frames (if missing), take
# the shipped codec (learned_codec/weights/conv5; LC_TRAIN=1 trains a fresh one
# with the quick preset instead), encode and decode the test frames through a
# real .lcf file, evaluate it, the shipped entropy-coded hyperprior and the shipped
# lossless palette model (image and video mode each) against the classic codecs and
# write the report.
# Usage: bash scripts/main_job.sh [WORK_DIR]   (default: the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-.}
DATA="$WORK/data/pacman"
REPORT="$WORK/reports/main"
MODEL=conv5
start=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - start ))s] $*"; }

if [ ! -f "$DATA/manifest.json" ]; then
  stamp "making the Pac-Man data set in $DATA (about 10 minutes on 2 cores)"
  learned-codec data pacman --out "$DATA" --seed 0
else
  stamp "using the Pac-Man data set in $DATA"
fi

if [ "${LC_TRAIN:-0}" = 1 ]; then
  MODEL="$WORK/runs/main-conv5"
  stamp "training conv5 with the quick preset into $MODEL"
  learned-codec train --arch conv5 --quant naive --preset quick --data "$DATA" --out "$MODEL" \
    $( [ -f "$MODEL/last.json" ] && echo --resume )
else
  stamp "using the shipped model $MODEL (learned_codec/weights/$MODEL)"
fi

mkdir -p "$REPORT"
stamp "encoding the test frames into $REPORT/test.lcf and decoding them"
learned-codec encode "$DATA" --model "$MODEL" -o "$REPORT/test.lcf"
learned-codec decode "$REPORT/test.lcf" --model "$MODEL" -o "$REPORT/decoded"

stamp "evaluating $MODEL (7 rates), the hyperprior (every shipped lambda) and palette (image and video mode) against the classic codecs"
# conv5 at 7 rates: naive (uint8), its float32 code (the reference table's conv5 row) and
# k-means codebooks of 5 sizes; the hyperprior at every
# shipped lambda (hyperprior, hyperprior-<lambda>), each also in its video mode. The classic
# codecs' sweeps reach down to ~25 dB so that the learned curves overlap them (BD-rates).
HYPER=(hyperprior $(cd learned_codec/weights && ls -d hyperprior-* 2>/dev/null))
# The reference report's table: rows not measured here (every arch but conv5) come from the
# committed evaluations of benchmarks/results/ (REFERENCE_RUNS), each labelled in the table.
REFERENCE_RUNS=(benchmarks/results/eval_quick_models/rd.csv benchmarks/results/eval_quick_models/vae/rd.csv
  benchmarks/results/eval_quick_models_500/rd.csv benchmarks/results/train_cpu/fc-naive-cpu-long/eval/rd.csv
  benchmarks/results/train_cpu/fc-naive-quant-grad/eval/rd.csv
  benchmarks/results/train_cpu/fc-naive-inward-cpu-long/eval/rd.csv
  benchmarks/results/train_cpu/fc-naive-inward-cpu-long/eval-other-quant/rd.csv
  benchmarks/results/train_cpu/fc500-naive-inward-cpu-long2/eval/rd.csv
  benchmarks/results/train_cpu/conv4-cpu-long/eval/rd.csv benchmarks/results/train_cpu/conv4-cpu-long2/eval/rd.csv
  benchmarks/results/train_cpu/conv4-cpu-long3/eval/rd.csv
  benchmarks/results/train_cpu/fc-deep-naive-inward-cpu-long/eval/rd.csv
  benchmarks/results/train_cpu/fc-deep-naive-inward-cpu-long2/eval/rd.csv)
learned-codec eval --data "$DATA" --models "$MODEL" "$MODEL:none" "$MODEL:kmeans:k=2" "$MODEL:kmeans:k=4" \
  "$MODEL:kmeans:k=16" "$MODEL:kmeans:k=64" "$MODEL:kmeans:k=256" "$MODEL:naive:gop=25" \
  "${HYPER[@]}" $(printf '%s:entropy:gop=25 ' "${HYPER[@]}") palette "palette::gop=25" \
  --qualities jpeg=10,20,30,50,70,85,95 jpeg420=10,30,50,75,95 webp=5,10,20,50,75,90,100 \
  avif=5,10,20,35,50,65,80 h264=12,18,24,30,36,42,48 av1=25,35,45,55,63 \
  --reference-runs "${REFERENCE_RUNS[@]}" --out "$REPORT"
stamp "done: report in $REPORT/report.md"
