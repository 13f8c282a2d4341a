#!/usr/bin/env bash
# Validation loss of runs G, H and their weight average on the same 24 runs of 200 steps (one
# per task, G's validation settings and seed): `--epochs 0` validates a start without training
# and exports it unchanged (to a scratch directory). Prints one line per preset.
# Measured (2026-12-02, validation.txt): G 0.7333, H 0.7298, their average 0.7311: between
# the two, no better than H, so the average was not evaluated further or shipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
python results/general-soup/make_soup.py
scratch=$(mktemp -d)
for start in results/general-g/preset results/general-h/preset results/general-soup/preset; do
  keras-l2l meta-train --init-from $start \
    --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
    --tasks-per-step 4 --horizon 200 --unroll 200 --epochs 0 \
    --validation-every 25 --validation-runs 24 --validation-metric final --seed 7 \
    --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
    --checkpoint-dir "$scratch/checkpoints-$(basename $(dirname $start))" --out "$scratch/out" 2>&1 \
    | grep -o "best validation loss [0-9.]*" | sed "s|^|$start: |"
done
rm -rf "$scratch"
