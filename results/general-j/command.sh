#!/usr/bin/env bash
# Run J (issue 11): run G's recipe (whole 200-step runs, exponential log-loss weights, random
# scaling 1, 4 tasks per meta-step, meta-lr 3e-4) continued from `general-v2` on twice the
# tasks: run C's 24 plus 24 new draws of the task family (family:24:77, every kind in turn).
# G's gain stopped after 50 meta-steps on 24 tasks; this asks whether more tasks let it go
# on. Validated every 20 meta-steps on 48 runs of 200 steps, one per task (the first 24 are
# G's validation runs). Rerun to resume from the checkpoints.
# Measured (2026-12-02, stopped after 80 of 200 meta-steps, about 0.3 CPU-hours): validation
# (48 runs) 0.6268 at the start (`general-v2`, the checkpoints' best_validation), then 0.6277,
# 0.6273, 0.6278 and 0.6324 after 20, 40, 60 and 80 meta-steps (validation.txt). Never below
# the start, so nothing was exported: twice the tasks did not let G's recipe go on.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v2 \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2),family:24:77" \
  --tasks-per-step 4 --random-scaling 1 --horizon 200 --unroll 200 --epochs "${EPOCHS:-200}" \
  --lr 3e-4 --clip-norm 1 --log-loss --meta-loss exponential \
  --validation-every 20 --validation-runs 48 --validation-metric final --seed 13 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-j/checkpoints --out results/general-j/preset \
  --description "general-v2, continued on run C's 24 tasks + family:24:77 with whole 200-step runs (results/general-j/command.sh)"
