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

stamp "evaluating $MODEL (5 rates), hyperprior and palette (image and video mode) against the classic codecs"
# conv5 at 5 rates: naive (uint8) and k-means codebooks of 4 sizes (BD-rates need 2+ points
# per curve); the hyperprior has one shipped rate.
learned-codec eval --data "$DATA" --models "$MODEL" "$MODEL:kmeans:k=4" "$MODEL:kmeans:k=16" \
  "$MODEL:kmeans:k=64" "$MODEL:kmeans:k=256" "$MODEL:naive:gop=25" hyperprior "hyperprior:entropy:gop=25" \
  palette "palette::gop=25" --out "$REPORT"
stamp "done: report in $REPORT/report.md"
