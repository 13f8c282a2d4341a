#!/usr/bin/env bash
# Run G (issue 11): run D's setting (general continued on run C's 24 tasks at the suite's short
# horizon, 200 steps, 4 tasks per meta-step, random scaling 1) but with no truncation: each
# meta-gradient backpropagates through the whole 200-step run (unroll 200, as the
# `mnist-hierarchical` preset that beats tuned Adam at 100 steps was trained), with exponential
# meta-loss weights on the log loss, at meta-lr 3e-4. B-F were meta-trained on 20-step
# truncations of longer runs and never beat `general` on validation or on the held-out suite;
# this asks whether truncation bias is why. Validated on 24 runs of 200 steps, one per task.
# Rerun to resume from the checkpoints. INIT, SEED, RUN (the results directory) and
# DESCRIPTION run the same recipe from another start (results/general-o/command.sh);
# LR and VALIDATION_EVERY change the meta-lr and validation interval (results/general-p/continue.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
description="general, continued on run C's 24 tasks with full backpropagation through 200-step runs, exponential log-loss weights, meta-lr 3e-4 (results/general-g/command.sh)"
keras-l2l meta-train --init-from "${INIT:-general-v1}" \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
  --tasks-per-step 4 --random-scaling 1 --horizon 200 --unroll 200 --epochs "${EPOCHS:-300}" \
  --lr "${LR:-3e-4}" --clip-norm 1 --log-loss --meta-loss exponential \
  --validation-every "${VALIDATION_EVERY:-25}" --validation-runs 24 --validation-metric final --seed "${SEED:-7}" \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir "results/${RUN:-general-g}/checkpoints" --out "results/${RUN:-general-g}/preset" \
  --description "${DESCRIPTION:-$description}"
