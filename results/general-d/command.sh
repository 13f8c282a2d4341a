#!/usr/bin/env bash
# Candidate D (issue 11): run C's 24 tasks at the held-out suite's shortest horizon. Runs B and
# C, meta-trained at 300-3,000 steps, got better where they were trained (C: validation 0.439
# vs `general`'s 0.516 on its tasks) and worse on the held-out suite at 200 steps (1.65x,
# 1.54x vs `general`'s 1.24x). D asks whether the task family helps when the horizon matches:
# from `general`, the same 24 tasks (9 of `general`'s, 15 of family:15:42), 4 per meta-step,
# random scaling 1, horizon 200 (validated on 400 steps), 100 epochs (about 15 min).
# Outcome (validation.txt): no validation beat the start (0.658; then 0.70, 0.68, 0.70,
# 0.67), so the exported weights are `general`'s own: at this horizon and meta-learning rate
# the 24 tasks gave no improvement to select.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v1 \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
  --tasks-per-step 4 --random-scaling 1 --curriculum 200 --epochs 100 --unroll 20 --lr 1e-3 \
  --clip-norm 1 --log-loss --validation-every 25 --validation-runs 24 --validation-metric final --seed 3 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-d/checkpoints --out results/general-d/preset \
  --description "general, continued on run C's 24 tasks (its 9 + family:15:42) at horizon 200: 4 tasks per meta-step, random scaling 1"
