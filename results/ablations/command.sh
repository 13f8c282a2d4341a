#!/usr/bin/env bash
# Issue 13 item 4: one-factor ablations of the paper's coordinatewise LSTM (keras-l2l ablate).
# Quadratic: the whole grid, 200 meta-training runs per variant (the quadratic preset had 3000).
# MNIST MLP: every variant, 80 meta-training runs each at horizon 100 (the mnist preset had
# 820), evaluated at 100 and 1,000 steps (prep-log-sign is the base's own preprocessing there).
# Rerun to resume: finished variants are skipped (the MNIST variants were run in three batches:
# the first with a shorter --variants list and only --problems mnist-100, the second with the
# six variants listed in git history, the third with all; otherwise the same flags).
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l ablate --out results/ablations --problems quadratic --epochs 200 --seeds 20 \
  --validation-every 50 --validation-runs 10 --seed 0
keras-l2l ablate --out results/ablations --problems mnist-100,mnist-1000 --epochs 80 --seeds 20 \
  --validation-every 20 --validation-runs 10 --grid coarse --seed 0
