#!/usr/bin/env bash
# `general-v3` on the MNIST MLPs of issue 11's targets, against the tuned baselines of
# `general-v2`'s evaluations there (--baselines-from: same seeds, tuning seeds, grid and
# baselines, so only `general-v3` runs): sigmoid and ReLU at 10,000 steps (5 seeds, Adam
# tuned for 10,000 steps) and the paper's setting, 100 steps (20 seeds, 6 tuned baselines
# and L-BFGS).
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
OPTIMIZER="${OPTIMIZER:-general-v3}" OUT="${OUT:-results/general-v3}"  # general-v4 reuses it
keras-l2l evaluate --optimizer "$OPTIMIZER" --problem mnist --steps 100 --seeds 20 \
  --baselines-from results/general-v2-mnist-100 --out "$OUT/mnist-100"
for problem in mnist mnist-relu; do
  keras-l2l evaluate --optimizer "$OPTIMIZER" --problem "$problem" --steps 10000 --seeds 5 \
    --grid coarse --tuning-seeds 1 --baselines adam \
    --baselines-from "results/general-g/$problem-10000" --out "$OUT/$problem-10000"
done
