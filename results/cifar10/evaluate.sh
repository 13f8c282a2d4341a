#!/usr/bin/env bash
# Evaluations of the `cifar10` preset (issue 13): the paper's conv net at the training horizon
# (100 steps) on CIFAR-10 and the label subsets CIFAR-5 (classes 0-4) and CIFAR-2 (classes 5, 6),
# all from the 7,000-image CIFAR-10 subset of ../shared/data. Baselines: the paper's Adam, NAG
# and RMSprop (SGD left out for compute), learning rates tuned per problem on a coarse grid with
# 2 tuning seeds; L-BFGS left out (full-batch over 6,000 images per iteration). The three run in
# parallel; each writes results/cifar10-<problem>-100/{results.json,report.md,curves.png}.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
settings="--steps 100 --seeds ${SEEDS:-10} --baselines adam,nag,rmsprop --grid coarse --tuning-seeds 2"
for problem in cifar10 cifar5 cifar2; do
  keras-l2l evaluate --optimizer cifar10 --problem $problem-conv $settings \
    --out results/cifar10-$problem-100 &
done
wait
