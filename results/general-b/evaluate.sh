#!/usr/bin/env bash
# Run B's preset on the held-out suite at 200 steps with exactly the settings of
# results/suite/command.sh (same seeds, same tuned baselines), so its ratios compare
# directly with `general`'s in results/suite/summary.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
settings="--seeds 5 --tuning-seeds 1 --grid coarse --baselines adam,adamw,nag,rmsprop"
keras-l2l evaluate --suite heldout --optimizer results/general-b/preset --steps 200 $settings \
  --out results/general-b/suite
