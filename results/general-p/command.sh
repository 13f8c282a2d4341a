#!/usr/bin/env bash
# Run P (issue 11): `general-v6` with its direction correction centered (HierarchicalLSTM
# correction_centered=True: d(x) - d(0), so a coordinate whose gradients vanish gets no
# correction), meta-trained so the rule can make up for the d(0) push it loses. Why: v6's
# per-parameter MLP adds d(0, context) = -0.19 .. +0.14 where the normalised gradient is
# zero (results/correction-fade/drift_5000.md), a constant drift that stops near-interpolating
# runs settling; centering it by hand is 1.006x v6 over 8 training problems at 5,000 steps,
# 0.47x-2.03x by problem (results/correction-fade/README.md), so the weights are re-fitted
# with it in the loop. Recipe: run O's (results/general-o/command.sh, run G's with another
# start): run C's 24 tasks, whole 200-step runs, 4 tasks per meta-step, meta-lr 3e-4,
# validated on 24 runs of 200 steps. Rerun to resume from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=results/general-p/start
[ -f "$start/config.json" ] || python -c "import sys; from keras_l2l import TrainedRule; \
TrainedRule.from_preset('general-v6').reconfigured(correction_centered=True).save_to_preset(sys.argv[1])" "$start"
INIT="$start" SEED=17 RUN=general-p \
  DESCRIPTION="general-v6 with its direction correction centered, meta-trained on run C's 24 tasks, 200-step runs (results/general-p/command.sh)" \
  exec bash results/general-g/command.sh
