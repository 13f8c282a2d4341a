#!/usr/bin/env bash
# `general-v3` on the held-out suite at the issue's settings (10 evaluation seeds, 3 tuning
# seeds, coarse grid), against the tuned baselines of `general-v2`'s run in
# results/suite-full-v2: same tasks, seeds, tuning seeds and grid, so the baselines are
# reused (--baselines-from, checked pair by pair) and only `general-v3` runs.
#   bash results/suite-full-v3/command.sh                    # 200 and 1,000 steps, all tasks
#   HORIZONS=5000 TASKS=fashion-two-input,... bash results/suite-full-v3/command.sh
#   OPTIMIZER=general-v4 OUT=results/suite-full-v4 bash results/suite-full-v3/command.sh
# (5,000 steps only where results/suite-full-v2 has that pair; the summary covers the
# tasks and horizons of the last call, so run the 5,000-step pairs in a copy and keep
# their task directories, as for results/suite-full-v2)
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
keras-l2l evaluate --suite heldout ${TASKS:+--tasks "$TASKS"} --optimizer "${OPTIMIZER:-general-v3}" \
  --steps "${HORIZONS:-200,1000}" --seeds 10 --tuning-seeds 3 --grid coarse \
  --baselines adam,adamw,nag,rmsprop --baselines-from results/suite-full-v2 \
  --out "${OUT:-results/suite-full-v3}"
