#!/usr/bin/env bash
# Run O (issue 11): `general-v6` meta-trained with its hypergradient step sizes in the loop.
# v6 is v4's weights (meta-trained without step adaptation) plus step_adaptation=0.05 with
# floor 1, set by hand; on the paper's MNIST task, meta-training the rule with the
# adaptation in the loop took it from 0.88x to 0.78x tuned Adam (results/mnist100-m, run M).
# This tries the same for `general`, on run C's 24 tasks, with run G's recipe
# (results/general-g/command.sh, which this runs), by which general-v2 was trained:
# 200-step runs with full backpropagation, 4 tasks per meta-step, random scaling,
# exponential log-loss weights, meta-lr 3e-4, validated on 24 runs of 200 steps (the horizon
# where general-v6 loses most: 1.052x the constant-rate tuned baselines on the held-out suite).
# Rerun to resume from the checkpoints; the validation losses are in the log.
set -euo pipefail
INIT=general-v6 SEED=13 RUN=general-o \
  DESCRIPTION="general-v6, meta-trained with its step adaptation in the loop on run C's 24 tasks, 200-step runs (results/general-o/command.sh)" \
  exec bash "$(dirname "$0")/../general-g/command.sh"
