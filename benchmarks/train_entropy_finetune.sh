#!/usr/bin/env bash
# The hyperprior at more rates, CPU-sized: fine-tune the shipped hyperprior (lambda 0.0932,
# 8 x 1536 frames from scratch) at each other lambda for EPOCHS x FRAMES frames
# (default 2 x 1536), one thread, one run after the other; resumable. The loop is
# benchmarks/train_entropy.sh with INIT_FROM set.
#   bash benchmarks/train_entropy_finetune.sh [DATA_DIR] [RUNS_DIR]
INIT_FROM=${INIT_FROM:-hyperprior} LMBDAS=${LMBDAS:-"0.0018 0.0067 0.025"} EPOCHS=${EPOCHS:-2} \
  exec bash "$(dirname "$0")/train_entropy.sh" "${1:-data/pacman}" "${2:-runs/entropy-ft}"
