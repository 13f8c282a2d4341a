#!/usr/bin/env bash
# Issue 11, the paper's own claim: a preset for the paper's MNIST MLP at 100 steps, built with
# the new tools. HierarchicalLSTM from `general`, meta-trained on the paper's task only
# (784-20-10 sigmoid MLP, batch 128), full backpropagation through the 100-step run
# (unroll 100), log loss with exponential weights (decay 0.95: emphasises the final steps,
# which the target measures), validation on the final-tenth loss. Rerun to resume.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v1 \
  --problem mnist --horizon 100 --unroll 100 --epochs 1500 --lr 1e-3 --clip-norm 1 \
  --log-loss --meta-loss exponential --validation-every 100 --validation-runs 8 \
  --validation-metric final --seed 3 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/mnist100-h/checkpoints --out results/mnist100-h/preset \
  --description "general, specialised to the paper's MNIST MLP at 100 steps: unroll 100, log loss, exponential weights"
# Evaluation: the paper's setting, 20 held-out seeds, every baseline on the full grid.
keras-l2l evaluate --optimizer results/mnist100-h/preset --problem mnist --steps 100 --seeds 20 --out results/mnist100-h/eval-100
