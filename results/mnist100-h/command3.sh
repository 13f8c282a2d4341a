#!/usr/bin/env bash
# Stage 3 of the 100-step MNIST preset: continue from stage 2's best weights (command2.sh)
# at meta-lr 1e-4 (stage 2 was still improving, with swings, at 3e-4). Rerun to resume.
# Measured (2026-12-01, 1,500 runs): validation never beat the start (0.3264): 0.328 at run
# 100, rising to 0.36-0.39; the exported weights were stage 2's, byte for byte, so nothing
# of this stage was kept (no checkpoints or evaluation committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from results/mnist100-h/preset2 \
  --problem mnist --horizon 100 --unroll 100 --epochs 1500 --lr 1e-4 --clip-norm 1 \
  --log-loss --meta-loss exponential --validation-every 100 --validation-runs 8 \
  --validation-metric final --seed 5 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/mnist100-h/checkpoints3 --out results/mnist100-h/preset3 \
  --description "mnist100-h stage 3: meta-lr 1e-4 from stage 2's best"
keras-l2l evaluate --optimizer results/mnist100-h/preset3 --problem mnist --steps 100 --seeds 20 --out results/mnist100-h/eval3-100
