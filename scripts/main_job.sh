#!/usr/bin/env bash
# The main job on the built-in Pac-Man data: make the frames, get a codec
# (the shipped weights, or a quick-preset training when none ship), evaluate
# it against the classic codecs and write the report.
# Usage: bash scripts/main_job.sh [WORK_DIR]   (default: the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-.}
DATA="$WORK/data/pacman"
REPORT="$WORK/reports/main"
start=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - start ))s] $*"; }

if [ ! -f "$DATA/manifest.json" ]; then
  stamp "making the Pac-Man data set in $DATA"
  learned-codec data pacman --out "$DATA" --seed 0
else
  stamp "using the Pac-Man data set in $DATA"
fi
learned-codec data info "$DATA"

stamp "evaluating against the classic codecs"
learned-codec eval --data "$DATA" --out "$REPORT" ${LC_MAIN_MODELS:+--models $LC_MAIN_MODELS}
stamp "done: report in $REPORT/report.md"
