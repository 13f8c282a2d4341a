#!/usr/bin/env bash
# A candidate preset (RUN_DIR/preset) on the held-out suite at 200 steps with exactly the
# settings of results/suite/command.sh (same seeds, same tuned baselines), so its ratios
# compare directly with `general`'s in results/suite/summary.md. Usage:
#   bash results/evaluate_candidate.sh results/general-c   # -> results/general-c/suite
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir="${1:?usage: evaluate_candidate.sh RUN_DIR (holding preset/)}"
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
settings="--seeds 5 --tuning-seeds 1 --grid coarse --baselines adam,adamw,nag,rmsprop"
keras-l2l evaluate --suite heldout --optimizer "$run_dir/preset" --steps 200 $settings \
  --out "$run_dir/suite"
