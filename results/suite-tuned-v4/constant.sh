#!/usr/bin/env bash
# `general-v4` with its step multiplier tuned (`--tune-learned`) at the issue's settings:
# 200 and 1,000 steps against the constant-rate tuned Adam, AdamW, NAG and RMSprop of
# results/suite-full-v2 (reused, as in results/suite-full-v4). At 200 steps v4 is v3
# (runs of at most 200 steps are not annealed).
#   bash results/suite-tuned-v4/constant.sh                 # both horizons, all tasks
#   HORIZONS=1000 TASKS=fashion-two-input,... bash results/suite-tuned-v4/constant.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
keras-l2l evaluate --suite heldout ${TASKS:+--tasks "$TASKS"} --optimizer general-v4 \
  --steps "${HORIZONS:-200,1000}" --seeds 10 --tuning-seeds 3 --grid coarse \
  --baselines adam,adamw,nag,rmsprop --tune-learned --baselines-from results/suite-full-v2 \
  --out results/suite-tuned-v4/constant
