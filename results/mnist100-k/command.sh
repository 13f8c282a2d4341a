#!/usr/bin/env bash
# Run K (issue 11, the paper's 100-step MNIST target <= 0.8x tuned Adam): `mnist-hierarchical`
# (0.88x) continued with 8 runs per meta-step instead of 1, so each meta-gradient averages 8
# seeds of the paper's MLP: stages 2 and 3 (results/mnist100-h) stalled at one run per step,
# at meta-lr 3e-4 and 1e-4. Same objective (whole 100-step runs, log loss, exponential
# weights), validated on stage 2's 8 runs. Rerun to resume from the checkpoints.
# Measured (2026-12-02, stopped after 70 of 200 meta-steps, i.e. 560 runs, about 0.1
# CPU-hours beside run J): validation 0.3264 at the start (mnist-hierarchical), 0.3292 after
# 20 and 40 meta-steps, 0.3355 after 60 (validation.txt); never below the start, so nothing
# was exported. Averaging 8 runs per meta-gradient did not move mnist-hierarchical either.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from mnist-hierarchical \
  --problem mnist,mnist,mnist,mnist,mnist,mnist,mnist,mnist --tasks-per-step 8 \
  --horizon 100 --unroll 100 --epochs "${EPOCHS:-200}" --lr 3e-4 --clip-norm 1 \
  --log-loss --meta-loss exponential --validation-every 20 --validation-runs 8 \
  --validation-metric final --seed 6 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/mnist100-k/checkpoints --out results/mnist100-k/preset \
  --description "mnist-hierarchical, continued with 8 runs of the paper's MNIST MLP per meta-step (results/mnist100-k/command.sh)"
