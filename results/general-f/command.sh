#!/usr/bin/env bash
# Run F (issue 11): run E again at a tenth of its meta-learning rate (3e-4 instead of 1e-3)
# and validated twice as often. Run E (results/general-e) never beat its start, `general`,
# on validation (0.499 at the start; 0.54-0.86 after 50-300 meta-steps): this asks whether
# the horizon features help when the weights move less far from `general`.
# Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v1 --rule-config '{"horizon_features": true}' \
  --problem mnist,mnist-relu,mlp/mnist/64/tanh/b64,mlp/mnist/32-32/gelu/b128,mlp/fashion_mnist/32/relu/b32,mlp/fashion_mnist/64-32/sigmoid/b256,mlp/cifar10/32/relu/b128,mlp/mnist//sigmoid/b128,mlp/fashion_mnist//sigmoid/b64 \
  --horizon 100,200,500,1000,2000 --validation-horizon 200,2000 --validation-runs 18 \
  --validation-every 25 --validation-metric final --epochs "${EPOCHS:-200}" --unroll 20 --lr 3e-4 \
  --unknown-horizon-prob 0.2 --clip-norm 1 --log-loss --seed 6 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-f/checkpoints --out results/general-f/preset \
  --description "run E (general + horizon features, run lengths 100-2000) at meta-lr 3e-4 (results/general-f/command.sh)"
