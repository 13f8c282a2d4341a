#!/usr/bin/env bash
# Run C's validation (24 runs of 2,000 steps, one per training task, the run's validation
# seeds) for `general` and for run C's preset, without training: `--epochs 0` validates the
# starting weights and exports them unchanged. Measured (validation.txt): general 0.516,
# run C 0.439. Scratch output in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
problems=$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)
scratch=$(mktemp -d)
for start in general-v1 results/general-c/preset; do
  echo "$start: $(keras-l2l meta-train --init-from "$start" --problem "$problems" --tasks-per-step 4 \
    --curriculum 1000 --epochs 0 --unroll 20 --validation-every 25 --validation-runs 24 \
    --validation-metric final --seed 2 --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
    --checkpoint-dir "$scratch/$(basename "$start")" --out "$scratch/out-$(basename "$start")" \
    2>/dev/null | grep -o 'best validation loss [0-9.]*')"
done | tee results/general-c/validation.txt
rm -rf "$scratch"
