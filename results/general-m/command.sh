#!/usr/bin/env bash
# Run M (issue 11): `general-v3` meta-trained on long runs for the first time. Every earlier
# `general` run saw whole runs of 200 (G, H, J, L) or 400 steps (I), and none improved on
# general-v2; the suite's gap is largest at 5,000 steps (1.93x the best tuned baseline, v2
# 4.04x), where the rule's per-variable step size stays near 3.5e-3 to the end
# (results/general-nod/spikes_5000.md). Here each run is 200, 1,000 or 3,000 steps long,
# meta-gradients come from truncated 100-step unrolls along it (so late-run steps get their
# own meta-gradient), on run L's 32 tasks (run C's 24 plus 8 `regions` regressions), uniform
# log-loss weights, meta-lr 1e-4. Validated on 32 runs of 2,000 steps, one per task.
# Rerun to resume from the checkpoints.
# Measured (2026-12-06, git b3f9a4c; stopped after 40 of 300 runs, 36 min wall beside two
# other jobs, about 0.5 CPU-hours): validation 0.3552 at the start (general-v3), then 0.3584
# and 0.3787 after 20 and 40 runs (validation.txt): worse, as every run since G. Nothing was
# exported. Truncated long-run meta-gradients from general-v3 did not improve long runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
keras-l2l meta-train --init-from general-v3 \
  --problem "$(grep -o -- "--problem [^ ]*" results/general-c/command.sh | cut -d' ' -f2),family:8:5:regions" \
  --tasks-per-step 4 --random-scaling 1 --horizon 200,1000,3000 --unroll 100 \
  --epochs "${EPOCHS:-300}" --lr 1e-4 --clip-norm 1 --log-loss --meta-loss uniform \
  --validation-every 20 --validation-runs 32 --validation-horizon 2000 \
  --validation-metric final --seed 17 \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir results/general-m/checkpoints --out results/general-m/preset \
  --description "general-v3 meta-trained on 200/1,000/3,000-step runs with truncated 100-step unrolls (results/general-m/command.sh)"
