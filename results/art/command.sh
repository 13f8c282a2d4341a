#!/usr/bin/env bash
# Issue 13, item 3: neural art. Meta-trains two candidates on Gatys-style style transfer at
# 64x64 (content: astronaut, coffee, chelsea, a random crop per run; style: ihc; offline
# random-feature network), picks the one with the lower best validation loss (validation
# seeds of the same 64x64 task, never the test tasks), and evaluates it against tuned
# baselines and L-BFGS: at 128x128 with held-out content (rocket, camera) and an unseen style
# (hubble), and at 64x64 on the held-out content with the training style.
# Rerun to resume: meta-training restarts from its checkpoints (a finished run only re-exports
# its preset), finished evaluations are skipped. Measured: the LSTM's validation loss was still
# falling at 100 epochs and `general`'s was flat, so the LSTM ran on to 300 (one resume).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=results/art
common=(--problem style/train/ihc/64 --horizon 100 --unroll 20 --clip-norm 1
        --log-loss --validation-every 20 --validation-runs 5 --validation-metric final --seed 0)
# A: the paper's coordinatewise LSTM from scratch.
nice -n 10 keras-l2l meta-train "${common[@]}" --epochs "${LSTM_EPOCHS:-300}" --lr 3e-3 \
  --checkpoint-dir $OUT/checkpoints-lstm --out $OUT/preset-lstm \
  --description "CoordinatewiseLSTM (paper) on style transfer at 64x64, 3 content images, style ihc" \
  >> $OUT/run-lstm.log 2>&1 &
# B: fine-tuning the default preset `general` (HierarchicalLSTM).
nice -n 10 keras-l2l meta-train "${common[@]}" --epochs "${GENERAL_EPOCHS:-100}" --lr 1e-3 \
  --init-from general-v1 --checkpoint-dir $OUT/checkpoints-general --out $OUT/preset-general \
  --description "general fine-tuned on style transfer at 64x64, 3 content images, style ihc" \
  >> $OUT/run-general.log 2>&1 &
wait
[ "${TRAIN_ONLY:-0}" = 1 ] && exit 0
bash $OUT/evaluate.sh
