#!/usr/bin/env bash
# Run I (issue 11): run G's recipe (full backpropagation through whole runs, exponential
# log-loss weights, random scaling 1, run C's 24 tasks) continued from G's best
# (`general-v2`) at twice the run length (400 steps, unroll 400) and twice the tasks per
# meta-step (8), at meta-lr 2e-4, validated every 10 meta-steps on 24 runs of 400 steps.
# Asks whether longer whole runs and a less noisy meta-gradient help at 1,000 steps, where
# `general-v2` is furthest from tuned Adam. G peaked after 50 meta-steps, so this runs 100.
# Rerun to resume from the checkpoints.
# Measured (2026-12-02, stopped after 30 of 100 meta-steps, about 0.4 CPU-hours on a machine
# shared with the held-out suite): validation (24 runs of 400 steps) 0.6345 at the start
# (`general-v2`, read from the checkpoints' best_validation), then 0.6415, 0.6534, 0.6539
# after 10, 20 and 30 meta-steps (validation.txt). Never better than its start, so nothing
# was exported; longer whole runs and more tasks per meta-step did not continue G's gain.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v2 \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
  --tasks-per-step 8 --random-scaling 1 --horizon 400 --unroll 400 --epochs "${EPOCHS:-100}" \
  --lr 2e-4 --clip-norm 1 --log-loss --meta-loss exponential \
  --validation-every 10 --validation-runs 24 --validation-metric final --seed 11 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-i/checkpoints --out results/general-i/preset \
  --description "general-v2, continued on run C's 24 tasks with full backpropagation through 400-step runs, 8 tasks per meta-step, meta-lr 2e-4 (results/general-i/command.sh)"
