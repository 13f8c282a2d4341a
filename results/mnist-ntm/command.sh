#!/usr/bin/env bash
# Issue 13: NTMBFGS meta-trained on the paper's MNIST MLP with the settings of the `mnist`
# preset (horizon 100, unroll 20, uniform meta-loss, meta-lr 1e-3, the rule's defaults =
# the mnist preset's LSTM settings plus 4 global averaging cells per layer), best validated
# weights kept (validation every 50 runs), then evaluated like `mnist` (results/mnist-100:
# 100 steps, 20 held-out seeds, tuned baselines). Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --rule NTMBFGS --problem mnist --epochs ${EPOCHS:-600} --validation-every 50 --seed 0 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/mnist-ntm/checkpoints --out results/mnist-ntm/preset \
  --description "NTMBFGS on the paper's MNIST MLP, settings of the mnist preset"
keras-l2l evaluate --optimizer results/mnist-ntm/preset --problem mnist --steps 100 --seeds 20 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" --out results/mnist-ntm/eval-100
