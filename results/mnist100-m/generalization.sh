#!/usr/bin/env bash
# How far does the 100-step MNIST specialist carry? `mnist-hierarchical-v2` and, beside it,
# `mnist-hierarchical` on the paper's generalization tasks at 100 steps (ReLU MLP, two hidden
# layers, and Fashion-MNIST; baselines of the paper rule's runs, results/<problem>-100) and
# on its own task at 1,000 steps (baselines of results/general-mnist-1000), all reused.
#   bash results/mnist100-m/generalization.sh     # then python results/mnist100-m/ratios.py
# (an evaluation whose results.json exists is skipped)
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
for preset in mnist-hierarchical-v2 mnist-hierarchical; do
  for problem in mnist-relu mnist-2layer fashion-mnist; do
    [ -f "results/mnist100-m/generalization/$preset/$problem-100/results.json" ] || \
    keras-l2l evaluate --optimizer "$preset" --problem "$problem" --steps 100 --seeds 20 \
      --baselines sgd,momentum,nag,rmsprop,adam --baselines-from "results/$problem-100" --out "results/mnist100-m/generalization/$preset/$problem-100"
  done
  [ -f "results/mnist100-m/generalization/$preset/mnist-1000/results.json" ] || \
  keras-l2l evaluate --optimizer "$preset" --problem mnist --steps 1000 --seeds 10 --grid coarse \
    --tuning-seeds 2 --baselines adam,adamw,nag,rmsprop --baselines-from results/general-mnist-1000 \
    --out "results/mnist100-m/generalization/$preset/mnist-1000"
done
