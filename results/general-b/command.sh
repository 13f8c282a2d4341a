#!/usr/bin/env bash
# Candidate successor of `general` (issue 11, run B): from `general`, three tasks per meta-step,
# random parameter scaling, horizons 1,000 then 3,000. Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v1 \
  --problem mnist,mnist-relu,mlp/mnist/64/tanh/b64,mlp/mnist/32-32/gelu/b128,mlp/fashion_mnist/32/relu/b32,mlp/fashion_mnist/64-32/sigmoid/b256,mlp/cifar10/32/relu/b128,mlp/mnist//sigmoid/b128,mlp/fashion_mnist//sigmoid/b64 \
  --tasks-per-step 3 --random-scaling 1 --curriculum 1000,3000 --epochs 100 --unroll 20 --lr 1e-3 \
  --clip-norm 1 --log-loss --validation-every 25 --validation-runs 9 --validation-metric final --seed 1 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-b/checkpoints --out results/general-b/preset \
  --description "general, continued: 3 tasks per meta-step, random scaling 1, curriculum 1000-3000"
