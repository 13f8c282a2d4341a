#!/usr/bin/env bash
# `general-v4` on the MNIST MLPs of issue 11's targets: the paper's setting, 100 steps (20
# seeds, against the tuned baselines of `general-v2`'s evaluation there), and sigmoid and
# ReLU at 10,000 steps (5 seeds) twice: against Adam tuned for 10,000 steps at a constant
# rate (`general-v2`'s tuned runs, reused), and against Adam given the same tail as
# `general-v4` (--baselines-anneal 0.5: its rate falls linearly to 0 over the last 5,000
# steps), tuned as such on the same seed and grid.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
keras-l2l evaluate --optimizer general-v4 --problem mnist --steps 100 --seeds 20 \
  --baselines-from results/general-v2-mnist-100 --out results/general-v4/mnist-100
for problem in mnist mnist-relu; do
  keras-l2l evaluate --optimizer general-v4 --problem "$problem" --steps 10000 --seeds 5 \
    --grid coarse --tuning-seeds 1 --baselines adam \
    --baselines-from "results/general-g/$problem-10000" --out "results/general-v4/$problem-10000"
  keras-l2l evaluate --optimizer general-v4 --problem "$problem" --steps 10000 --seeds 5 \
    --grid coarse --tuning-seeds 1 --baselines adam --baselines-anneal 0.5 \
    --out "results/general-v4/$problem-10000-tail"
done
