#!/usr/bin/env bash
# `general-v6` on the MNIST MLPs of issue 11's targets, as results/general-v4/evaluate_mnist.sh
# ran `general-v4`, with every baseline reused (only general-v6 runs): the paper's setting
# (100 steps, 20 seeds), sigmoid and ReLU at 10,000 steps (5 seeds) against Adam tuned at a
# constant rate, and against Adam given the same tail (general-v4's tailed runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
OPTIMIZER=general-v6 OUT=results/general-v6 bash results/general-v3/evaluate_mnist.sh
for problem in mnist mnist-relu; do
  keras-l2l evaluate --optimizer general-v6 --problem "$problem" --steps 10000 --seeds 5 \
    --grid coarse --tuning-seeds 1 --baselines adam --baselines-anneal 0.5 \
    --baselines-from "results/general-v4/$problem-10000-tail" \
    --out "results/general-v6/$problem-10000-tail"
done
