#!/usr/bin/env bash
# Validation of `general-v2` and of it without the direction correction (make_preset.py) on
# run G's 24 meta-training tasks, one run each (G's validation runs and seeds), at 200 steps
# (G's validation) and at 1,000: `--epochs 0` validates a start without training and exports
# it unchanged (to a scratch directory). Prints one line per (preset, horizon).
# Measured (2026-12-02, validation.txt): general-v2 0.733 at 200 steps, 0.508 at 1,000;
# without the direction correction 0.777 and 0.553. On the tasks it was trained on the
# learned direction helps at both lengths, so zeroing it is not shipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
python results/general-nod/make_preset.py
scratch=$(mktemp -d)
for horizon in 200 1000; do
  for start in general-v2 results/general-nod/preset; do
    keras-l2l meta-train --init-from $start \
      --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
      --tasks-per-step 4 --horizon $horizon --unroll 200 --epochs 0 \
      --validation-every 25 --validation-runs 24 --validation-metric final --seed 7 \
      --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
      --checkpoint-dir "$scratch/checkpoints-$horizon-$(basename $start)" --out "$scratch/out" 2>&1 \
      | grep -o "best validation loss [0-9.]*" | sed "s|^|$start, $horizon steps: |"
  done
done
rm -rf "$scratch"
