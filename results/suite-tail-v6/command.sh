#!/usr/bin/env bash
# `general-v6` at 1,000 steps against tuned Adam and NAG given the same linear tail as its
# own (results/suite-tail-v4's baselines, reused), and with its step multiplier tuned too
# (`--tune-learned`): how much of general-v4's loss to them (1.23x; 1.10x tuned) its
# per-variable hypergradient step size recovers without tuning.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
keras-l2l evaluate --suite heldout ${TASKS:+--tasks "$TASKS"} --optimizer general-v6 \
  --steps 1000 --seeds 10 --tuning-seeds 3 --grid coarse \
  --baselines adam,nag --baselines-anneal 0.5 --tune-learned \
  --baselines-from results/suite-tail-v4 --out results/suite-tail-v6
