#!/usr/bin/env bash
# `general-v4` at 1,000 steps against tuned Adam and NAG given the same linear tail as its
# own (learning rate falling linearly to 0 over the run's last half, tuned as such):
# whether the annealed rule's gain over constant-rate baselines (results/suite-full-v4)
# is the rule's or the schedule's. Same tasks, seeds, tuning seeds and grid as the suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
keras-l2l evaluate --suite heldout ${TASKS:+--tasks "$TASKS"} --optimizer general-v4 \
  --steps "${HORIZONS:-1000}" --seeds 10 --tuning-seeds 3 --grid coarse \
  --baselines adam,nag --baselines-anneal 0.5 --out results/suite-tail-v4
