#!/usr/bin/env bash
# Run G's preset on the held-out suite at 1,000 steps with the settings of results/suite-1000
# (5 seeds, 1 tuning seed, coarse grid), tuned Adam only: the other tuned baselines' losses are
# taken from results/suite-1000 (same seeds, same tuning), which this run's tuned Adam must
# reproduce. Then compare_1000.py prints G against `general` and the best tuned baseline there.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
keras-l2l evaluate --suite heldout --optimizer results/general-g/preset --steps 1000 --seeds 5 \
  --tuning-seeds 1 --grid coarse --baselines adam --out results/general-g/suite-1000
python results/general-g/compare_1000.py | tee results/general-g/compare_1000.md
