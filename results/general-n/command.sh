#!/usr/bin/env bash
# Run N (issue 11): `general-v4` meta-trained with its tail in the loop. v4 is v3's weights,
# trained on 200-step runs, with a fixed schedule on top (step sizes fall linearly to 0 over
# the last half of runs longer than 200 steps); against Adam and NAG given the same tail
# (results/suite-tail-v4) most of its 1,000-step gain is the schedule's. This continues it
# on run C's 24 tasks with runs of 200 or 1,000 steps (drawn per meta-step), the tail
# active in the 1,000-step ones, so the learned steps can plan for it (e.g. take larger
# steps early where v4 starves: the centroid regression, the conv autoencoder). A quarter
# of the runs are not told their length (as `fit` without TrainingLength). Meta-gradients
# over 200-step truncations (full backpropagation through each), exponential log-loss
# weights, meta-lr 3e-4, as run G. Validated on 24 runs of 1,000 steps, one per task.
# Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v4 \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2)" \
  --tasks-per-step 4 --random-scaling 1 --horizon 200,1000 --unroll 200 --epochs "${EPOCHS:-400}" \
  --unknown-horizon-prob 0.25 \
  --lr 3e-4 --clip-norm 1 --log-loss --meta-loss exponential \
  --validation-every 50 --validation-runs 24 --validation-horizon 1000 --validation-metric final \
  --seed 11 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-n/checkpoints --out results/general-n/preset \
  --description "general-v4, meta-trained with its tail in the loop on run C's 24 tasks, runs of 200 or 1,000 steps, 200-step truncations (results/general-n/command.sh)"
