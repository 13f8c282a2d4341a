#!/usr/bin/env bash
# Run P, stage 2: command.sh's recipe (run G's) at meta-lr 1e-4 with validation every 10
# runs, 80 runs, from its best point (results/general-p/preset: run 25, validation 0.7158
# against the centered start's 0.7225 and general-v6's 0.7058; at 3e-4 validation then
# rose to 0.74-0.77 at runs 50-100, as in run O). Writes results/general-p/stage2/.
# Rerun to resume from the checkpoints.
set -euo pipefail
INIT=results/general-p/preset SEED=19 RUN=general-p/stage2 EPOCHS="${EPOCHS:-80}" LR=1e-4 \
  VALIDATION_EVERY=10 \
  DESCRIPTION="run P stage 2: results/general-p/preset meta-trained at meta-lr 1e-4 (results/general-p/continue.sh)" \
  exec bash "$(dirname "$0")/../general-g/command.sh"
