#!/usr/bin/env bash
# Run L (issue 11): run G's recipe (whole 200-step runs, 4 tasks per meta-step, exponential
# log-loss weights, meta-lr 3e-4) from `general-v2` with a per-variable gate on the direction
# correction (`direction_gate`, starts at 1: the rule starts as general-v2), on run C's 24 tasks
# plus 8 `regions` tasks (cell-mean regressions whose loss can fall towards zero).
# Why: general-v2's direction correction d costs 4x on the held-out centroid regression at
# 1,000 steps (results/general-nod/); a gate lets the tensor LSTM turn d down per variable.
# Validated on 64 runs: each of the 32 tasks at 200 and at 1,000 steps.
# Rerun to resume from the checkpoints.
# Measured (2026-12-02, git f13b405; stopped after 110 of 300 meta-steps, 1.0 h wall
# beside two other jobs, about 1 CPU-hour): validation 0.4989 at the start (general-v2),
# 0.4998, 0.5022, 0.5072 and 0.5038 after 25, 50, 75 and 100 meta-steps (validation.txt):
# never below the start, so nothing was exported. The gate did not help meta-training find
# anything G's recipe had not.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v2 --rule-config '{"direction_gate": true}' \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2),family:8:5:regions" \
  --tasks-per-step 4 --random-scaling 1 --horizon 200 --unroll 200 --epochs "${EPOCHS:-300}" \
  --lr 3e-4 --clip-norm 1 --log-loss --meta-loss exponential \
  --validation-every 25 --validation-runs 64 --validation-horizon 200,1000 \
  --validation-metric final --seed 7 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-l/checkpoints --out results/general-l/preset \
  --description "general-v2 with a direction gate, continued on run C's 24 tasks and 8 regions tasks, whole 200-step runs (results/general-l/command.sh)"
