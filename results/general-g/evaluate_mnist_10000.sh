#!/usr/bin/env bash
# general-v2 on the MNIST MLPs (sigmoid, ReLU) at 10,000 steps, with the settings of
# results/general-mnist-10000 and results/general-mnist-relu-10000 (general's runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
for problem in mnist mnist-relu; do
  keras-l2l evaluate --optimizer general-v2 --problem "$problem" --steps 10000 --seeds 5 \
    --grid coarse --tuning-seeds 1 --baselines adam --out "results/general-g/$problem-10000"
done
