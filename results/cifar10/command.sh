#!/usr/bin/env bash
# The `cifar10` preset (issue 13): the paper's separate conv and dense LSTMs (GroupedRule of two
# 2 x 20 CoordinatewiseLSTMs) meta-trained on the paper's CIFAR-10 conv net, horizon 100, unroll 20,
# on the 7,000-image CIFAR-10 subset of ../shared/data (6,000 train, 1,000 test). Both LSTMs start
# from the `mnist` preset (init.py). Rerun to resume from the checkpoints; EPOCHS lowers the total
# to export early from the latest checkpoint.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
[ -d results/cifar10/init ] || python results/cifar10/init.py results/cifar10/init
keras-l2l meta-train --init-from results/cifar10/init --problem cifar10-conv --horizon 100 --unroll 20 \
  --epochs ${EPOCHS:-150} --validation-every 25 --validation-runs 5 --seed 0 \
  --checkpoint-dir results/cifar10/checkpoints --out results/cifar10/preset \
  --description "Paper CIFAR-10 conv net (7,000-image subset), separate conv and dense LSTMs, from the mnist preset"
