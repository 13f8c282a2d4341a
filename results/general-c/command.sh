#!/usr/bin/env bash
# Candidate successor of `general` (issue 11, run C: the task distribution). From `general`,
# meta-trains on its 9 MLP / logistic-regression tasks plus 15 tasks of the family in
# keras_l2l/problems/family.py, the sample `family:15:42` (family.expand("family:15:42"))
# spelled out by name: 3 MLPs, 2 logistic regressions, 3 conv nets with batch norm,
# 2 recurrent nets over image rows, 3 dense autoencoders, 2 regressions to random pixel
# projections, on MNIST / Fashion-MNIST / the CIFAR subset at 8x8 .. 32x32, batch 16-256,
# inputs rescaled by exp(U(-1, 1)). None is a held-out suite task. Four tasks per meta-step
# in 6 fixed groups (consecutive names; each group mixes old and family tasks), random
# parameter scaling 1, horizons 300 then 1,000; --validation-runs 24 validates every task once.
#
# Estimated run time, from results/general-c/timing.jsonl (python results/general-c/timing.py:
# MetaTrainer runs of 40 steps, 2 truncations of unroll 20, general's rule, one task at a
# time, the fastest of 4 runs on the 2 cores shared with another meta-training run): 6.8 ms
# per optimizee step averaged over the 24 tasks (the 9 old ones 8.4, the 15 family ones 5.8;
# the paper's MNIST MLP 3.6-5.3). 150 epochs x (300 + 1,000) steps x 4 tasks = 780,000
# task-steps -> 1.5 h; validation 24 runs x 7 per stage x (300 + 1,000) steps = 218,400
# rollout steps at 3.7 ms -> 0.2 h; compiling 6 groups and 24 rollouts per stage ~0.2 h:
# about 2 h on 2 free cores, wall and CPU-hours alike (`general` took 7.2 ms per task-step all in: 0.84
# CPU-hours for 420,000). Sharing the cores with another meta-training run, as now, steps
# were up to 2.4x slower in a first measurement: allow 4-5 h wall. Rerun to resume from the
# checkpoints.
#
# What happened: stage 300 ran its 150 epochs (best validation at 1,000 steps 0.522). Stage
# 1,000 validated its start (stage 300's best) at 0.439 on 2,000-step runs, then 0.511 after
# 25 epochs and 0.570 after 50: meta-training at 1,000 steps only made it worse, so it was
# stopped after 60 epochs and the preset exported from the checkpoints with
#   EPOCHS=60 bash results/general-c/command.sh
# (no stage trains further; each restores its best validated weights): stage 300's best.
# Stage 1,000's 60 epochs took 33 min wall on the 2 cores (2026-12-02, alongside short test
# runs); stage 300's time, spread over two earlier sessions beside run B, was not recorded
# (by timing.jsonl about 0.4 CPU-hours). Held-out suite at 200 steps: geometric mean 1.54x
# the best tuned baseline (`general`: 1.24x); not shipped (README, "Results of `general`").
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v1 \
  --problem mnist,mlp/cifar10/32/relu/b128,family/rnn/25500,family/mlp/47832,mnist-relu,mlp/mnist//sigmoid/b128,family/regression/34030,family/logreg/63419,mlp/mnist/64/tanh/b64,mlp/fashion_mnist//sigmoid/b64,family/conv/20719,family/autoencoder/51675,mlp/mnist/32-32/gelu/b128,family/conv/13773,family/rnn/89073,family/autoencoder/15270,mlp/fashion_mnist/32/relu/b32,family/logreg/44691,family/regression/79555,family/mlp/79921,mlp/fashion_mnist/64-32/sigmoid/b256,family/autoencoder/36851,family/conv/78111,family/mlp/88061 \
  --tasks-per-step 4 --random-scaling 1 --curriculum 300,1000 --epochs "${EPOCHS:-150}" --unroll 20 --lr 1e-3 \
  --clip-norm 1 --log-loss --validation-every 25 --validation-runs 24 --validation-metric final --seed 2 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-c/checkpoints --out results/general-c/preset \
  --description "general, continued on its 9 tasks + 15 family tasks (MLP, logistic regression, conv + batch norm, RNN, dense autoencoder, regression; family:15:42): 4 tasks per meta-step, random scaling 1, curriculum 300-1000 (how the run ended: results/general-c/command.sh)"
