#!/usr/bin/env bash
# Stage 4 of the 100-step MNIST preset: stage 2's best weights (command2.sh) with
# horizon_features, so the per-tensor LSTM also reads the fraction of the run done (t / 100)
# and can learn a schedule for this fixed length; the new inputs start at zero weight, so
# the rule starts exactly as stage 2's. Same recipe as stage 2 otherwise. Rerun to resume.
# Measured (2026-12-06, stopped at run 950 of 1,500): validation never beat the start
# (stage 2's 0.3264): 0.333 at run 100, then 0.35-0.38, 0.339 at 900; as stage 3 (lower
# meta-lr), nothing of this stage was kept (no checkpoints, preset or evaluation committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from results/mnist100-h/preset2 --rule-config '{"horizon_features": true}' \
  --problem mnist --horizon 100 --unroll 100 --epochs "${EPOCHS:-1500}" --lr 3e-4 --clip-norm 1 \
  --log-loss --meta-loss exponential --validation-every 100 --validation-runs 8 \
  --validation-metric final --seed 6 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/mnist100-h/checkpoints4 --out results/mnist100-h/preset4 \
  --description "mnist100-h stage 4: stage 2's best + horizon features (fraction of the run), meta-lr 3e-4"
keras-l2l evaluate --optimizer results/mnist100-h/preset4 --problem mnist --steps 100 --seeds 20 \
  --baselines-from results/mnist100-h/eval2-100 --out results/mnist100-h/eval4-100
