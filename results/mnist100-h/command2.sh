#!/usr/bin/env bash
# Stage 2 of the 100-step MNIST preset: continue from stage 1's best weights (command.sh) at a
# lower meta learning rate (stage 1 diverged after its best point at 1e-3). Rerun to resume.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from results/mnist100-h/preset \
  --problem mnist --horizon 100 --unroll 100 --epochs 1500 --lr 3e-4 --clip-norm 1 \
  --log-loss --meta-loss exponential --validation-every 100 --validation-runs 8 \
  --validation-metric final --seed 4 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/mnist100-h/checkpoints2 --out results/mnist100-h/preset2 \
  --description "mnist100-h stage 2: meta-lr 3e-4 from stage 1's best"
keras-l2l evaluate --optimizer results/mnist100-h/preset2 --problem mnist --steps 100 --seeds 20 --out results/mnist100-h/eval2-100
