#!/usr/bin/env bash
# Candidate successor of `general` (issue 11, run E: telling the rule the run's length).
# `general`'s rule with horizon_features (its tensor LSTM also reads: length known,
# min(t / T, 1), log T / 10), started from `general`'s weights with zero weights on the new
# inputs (so it starts as `general`), meta-trained on `general`'s own 9 tasks with each run's
# length drawn from 100-2,000 steps instead of a curriculum (one run in five is not told its
# length, so that the rule also works without it), and validated on runs of 200 and 2,000
# steps (each of the 9 tasks at both). Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v1 --rule-config '{"horizon_features": true}' \
  --problem mnist,mnist-relu,mlp/mnist/64/tanh/b64,mlp/mnist/32-32/gelu/b128,mlp/fashion_mnist/32/relu/b32,mlp/fashion_mnist/64-32/sigmoid/b256,mlp/cifar10/32/relu/b128,mlp/mnist//sigmoid/b128,mlp/fashion_mnist//sigmoid/b64 \
  --horizon 100,200,500,1000,2000 --validation-horizon 200,2000 --validation-runs 18 \
  --validation-every 50 --validation-metric final --epochs "${EPOCHS:-300}" --unroll 20 --lr 1e-3 \
  --unknown-horizon-prob 0.2 --clip-norm 1 --log-loss --seed 5 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-e/checkpoints --out results/general-e/preset \
  --description "general + horizon features (run length known, fraction of the run, log length), continued on general's 9 tasks with run lengths drawn from 100-2000 steps (results/general-e/command.sh)"
