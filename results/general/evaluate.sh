#!/usr/bin/env bash
# Evaluations of `general-v1`, the first `general` preset (issue 11). Each writes results/<name>/{results.json,report.md,curves.png}.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
coarse="--grid coarse --tuning-seeds 2 --baselines adam,adamw,nag,rmsprop"
# The paper's setting: MNIST MLP, 100 steps, every baseline on the full grid.
keras-l2l evaluate --optimizer general-v1 --problem mnist --steps 100 --seeds 20 --out results/general-mnist-100
keras-l2l evaluate --optimizer general-v1 --problem mnist --steps 1000 --seeds 10 $coarse --out results/general-mnist-1000
keras-l2l evaluate --optimizer general-v1 --problem mnist-relu --steps 1000 --seeds 10 $coarse --out results/general-mnist-relu-1000
# 10,000 steps: Adam tuned for that horizon (coarse grid, one tuning seed), 5 seeds.
keras-l2l evaluate --optimizer general-v1 --problem mnist --steps 10000 --seeds 5 --grid coarse --tuning-seeds 1 --baselines adam --out results/general-mnist-10000
keras-l2l evaluate --optimizer general-v1 --problem mnist-relu --steps 10000 --seeds 5 --grid coarse --tuning-seeds 1 --baselines adam --out results/general-mnist-relu-10000
python benchmarks/layer_zoo.py --preset general-v1 --epochs 3 --seeds 3 --out results/layer_zoo
