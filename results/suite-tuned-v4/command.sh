#!/usr/bin/env bash
# `general-v4` at 1,000 steps given the baselines' tuning budget: its step multiplier
# (LearnedOptimizer's learning_rate) tuned over 2^-2..2^2 on the same 3 tuning seeds as
# the baselines' rates (`--tune-learned`, reported as `learned_tuned`), against tuned Adam
# and NAG with the same linear tail as v4's own. Whether the learned rule's remaining loss
# to tailed Adam (results/suite-tail-v4: 1.23x) is its choice of step size or its steps.
# The baselines and the untuned `learned` runs are results/suite-tail-v4's, reused.
#   OPTIMIZER=general-v6 OUT=results/suite-tail-v6 bash results/suite-tuned-v4/command.sh
# runs another preset against the same reused baselines (results/suite-tail-v5, -v6).
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
keras-l2l evaluate --suite heldout ${TASKS:+--tasks "$TASKS"} --optimizer "${OPTIMIZER:-general-v4}" \
  --steps 1000 --seeds 10 --tuning-seeds 3 --grid coarse \
  --baselines adam,nag --baselines-anneal 0.5 --tune-learned \
  --baselines-from results/suite-tail-v4 --out "${OUT:-results/suite-tuned-v4}"
