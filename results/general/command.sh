#!/usr/bin/env bash
# Meta-trains the `general` preset candidate (issue 11). Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --rule HierarchicalLSTM \
  --problem mnist,mnist-relu,mlp/mnist/64/tanh/b64,mlp/mnist/32-32/gelu/b128,mlp/fashion_mnist/32/relu/b32,mlp/fashion_mnist/64-32/sigmoid/b256,mlp/cifar10/32/relu/b128,mlp/mnist//sigmoid/b128,mlp/fashion_mnist//sigmoid/b64 \
  --curriculum 100,300,1000 --epochs 300 --unroll 20 --lr 3e-3 --clip-norm 1 --log-loss \
  --validation-every 50 --validation-runs 9 --validation-metric final --seed 0 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general/checkpoints --out results/general/preset \
  --description "HierarchicalLSTM on 9 MLP / logistic-regression tasks (MNIST, Fashion-MNIST, CIFAR subset), curriculum 100-300-1000, log loss"
