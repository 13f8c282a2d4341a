#!/usr/bin/env bash
# Run H (issue 11): run G without random scaling. G's training runs saw f(c * theta) with
# c = exp(U(-1, 1)) per coordinate while its validation runs (and the held-out suite) are
# unscaled; G improved validation for 50 runs and then drifted away. Same tasks, full 200-step
# unrolls, exponential log-loss weights, meta-lr 3e-4; validated every 10 runs to pick the best
# point more finely. Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v1 \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
  --tasks-per-step 4 --horizon 200 --unroll 200 --epochs "${EPOCHS:-150}" \
  --lr 3e-4 --clip-norm 1 --log-loss --meta-loss exponential \
  --validation-every 10 --validation-runs 24 --validation-metric final --seed 9 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-h/checkpoints --out results/general-h/preset \
  --description "run G without random scaling (results/general-h/command.sh)"
