#!/usr/bin/env bash
# Run G2 (issue 11): run G's second stage, as the `mnist-hierarchical` preset was made: G's
# validation improved for 50 meta-steps at meta-lr 3e-4 (0.747 -> 0.733) and then drifted back
# up, so this continues from G's best weights at meta-lr 1e-4, same tasks, runs and validation.
# Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from results/general-g/preset \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
  --tasks-per-step 4 --random-scaling 1 --horizon 200 --unroll 200 --epochs "${EPOCHS:-200}" \
  --lr 1e-4 --clip-norm 1 --log-loss --meta-loss exponential \
  --validation-every 25 --validation-runs 24 --validation-metric final --seed 8 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-g2/checkpoints --out results/general-g2/preset \
  --description "run G's best, continued at meta-lr 1e-4 (results/general-g2/command.sh)"
