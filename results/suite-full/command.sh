#!/usr/bin/env bash
# The held-out suite at the issue's full settings (issue 11 item 4): `general-v1` (the first `general`) on every task,
# 10 evaluation seeds, each baseline's learning rate tuned on 3 separate seeds over the
# coarse grid. Finished (task, horizon) pairs are skipped, so it runs in pieces:
#   bash results/suite-full/command.sh            # 200 steps: 28 min here (2026-12-02)
#   HORIZONS=200,1000 bash results/suite-full/command.sh        # adds 1,000 steps
#   HORIZONS=200,1000,5000 bash results/suite-full/command.sh   # the issue's full evaluation
# (runs grow with the horizon: roughly 5x and 25x the 200-step time, i.e. ~2.5 h and ~12 h)
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
keras-l2l evaluate --suite heldout --optimizer "${OPTIMIZER:-general-v1}" --steps "${HORIZONS:-200}" \
  --seeds 10 --tuning-seeds 3 --grid coarse --baselines adam,adamw,nag,rmsprop \
  --out "${OUT:-results/suite-full}"
