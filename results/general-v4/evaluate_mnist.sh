#!/usr/bin/env bash
# `general-v4` on the MNIST MLPs of issue 11's targets: first as `general-v3` was
# (results/general-v3/evaluate_mnist.sh: the paper's setting, 100 steps, and sigmoid and
# ReLU at 10,000 steps against Adam tuned at a constant rate, `general-v2`'s tuned runs
# reused), then at 10,000 steps against Adam given the same tail as `general-v4`
# (--baselines-anneal 0.5: its rate falls linearly to 0 over the last 5,000 steps), tuned
# as such on the same seed and grid.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
OPTIMIZER=general-v4 OUT=results/general-v4 bash results/general-v3/evaluate_mnist.sh
for problem in mnist mnist-relu; do
  keras-l2l evaluate --optimizer general-v4 --problem "$problem" --steps 10000 --seeds 5 \
    --grid coarse --tuning-seeds 1 --baselines adam --baselines-anneal 0.5 \
    --out "results/general-v4/$problem-10000-tail"
done
