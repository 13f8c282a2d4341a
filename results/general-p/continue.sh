#!/usr/bin/env bash
# Run P, stage 2: command.sh's recipe at meta-lr 1e-4 with validation every 10 runs,
# from its best point (results/general-p/preset: run 25, validation 0.7158 against the
# centered start's 0.7225 and general-v6's 0.7058; at 3e-4 validation then rose to
# 0.74-0.77 at runs 50-100, as in run O). Writes results/general-p/preset2.
# Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from results/general-p/preset \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
  --tasks-per-step 4 --random-scaling 1 --horizon 200 --unroll 200 --epochs "${EPOCHS:-80}" \
  --lr 1e-4 --clip-norm 1 --log-loss --meta-loss exponential \
  --validation-every 10 --validation-runs 24 --validation-metric final --seed 19 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-p/checkpoints2 --out results/general-p/preset2 \
  --description "run P stage 2: results/general-p/preset meta-trained at meta-lr 1e-4 (results/general-p/continue.sh)"
