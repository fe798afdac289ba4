#!/usr/bin/env bash
# Long CPU training run (issue 16), one core, detached so it survives the session:
#   benchmarks/train_cpu_long.sh [ARCH]        # starts, or resumes when the run folder has a checkpoint
# Run folder runs/cpu-long/ARCH (checkpoint every epoch, ~3 min for conv5), log runs/cpu-long/ARCH.log.
# Env: DATA (default /work/main/data/pacman), QUANT (default naive, as the shipped conv5),
#      THREADS (default 1), OUT (default runs/cpu-long/ARCH),
#      EXTRA (more train options, e.g. "--epochs 40" on resume, "--init-from conv5" to continue
#      from shipped weights with a fresh schedule).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:-conv5}
DATA=${DATA:-/work/main/data/pacman}
QUANT=${QUANT:-naive}
THREADS=${THREADS:-1}
OUT=${OUT:-runs/cpu-long/$ARCH}
mkdir -p "$(dirname "$OUT")"
RESUME=""
if [ -f "$OUT/last.json" ]; then RESUME="--resume"; fi
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
# shellcheck disable=SC2086
nohup setsid python3 -m learned_codec train --arch "$ARCH" --quant "$QUANT" --preset cpu-long \
    --data "$DATA" --out "$OUT" --threads "$THREADS" --quiet $RESUME ${EXTRA:-} \
    >> "$OUT.log" 2>&1 < /dev/null &
echo "started pid $! ($ARCH, $OUT${RESUME:+, resumed}); log $OUT.log"
