#!/usr/bin/env bash
# Issue 13: NTMBFGS meta-trained on the paper's 10-d quadratic with the settings of the
# `quadratic` preset (CoordinatewiseLSTM), then evaluated like it (20 seeds, tuned baselines).
# Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --rule NTMBFGS \
  --rule-config '{"preprocessing": "clamped_log_sign", "preprocessing_p": 5, "output_scale": 0.01}' \
  --problem quadratic-batch --epochs ${EPOCHS:-3000} --validation-every 100 --seed 0 \
  --checkpoint-dir results/quadratic-ntm/checkpoints --out results/quadratic-ntm/preset \
  --description "NTMBFGS on the paper's 10-d quadratic, settings of the quadratic preset"
keras-l2l evaluate --optimizer results/quadratic-ntm/preset --problem quadratic --steps 100 --seeds 20 \
  --baselines sgd,momentum,nag,rmsprop,adam,lbfgs --out results/quadratic-ntm/eval-100
