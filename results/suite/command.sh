#!/usr/bin/env bash
# The held-out suite (issue 11 item 4) for the `general` preset. Rerun to resume: finished
# (task, horizon) pairs are skipped. This session's budget allowed 5 seeds, 1 tuning seed and
# the coarse grid, 200 steps on every task and 1,000 steps on the tasks listed in
# results/suite-1000/summary.md. The issue's settings (>= 10 seeds, 3 tuning seeds, 5,000
# steps too) are in results/suite-full/command.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
settings="--seeds 5 --tuning-seeds 1 --grid coarse --baselines adam,adamw,nag,rmsprop"
keras-l2l evaluate --suite heldout --optimizer general-v1 --steps 200 $settings --out results/suite
# Cheapest tasks first; add the rest with --tasks (or drop --tasks) to complete it.
keras-l2l evaluate --suite heldout --optimizer general-v1 --steps 1000 $settings \
  --tasks "${SUITE_1000_TASKS:-fashion-separable-conv-b16,fashion-rows-lstm,tokens-embedding-gru,mnist-conv-bn-dropout,fashion-conv-autoencoder,mnist-patch-transformer,cifar-conv-bn-dropout,cifar-logistic-b512,fashion-two-input,fashion-centroid-regression,cifar-resmlp-layernorm}" \
  --out results/suite-1000
