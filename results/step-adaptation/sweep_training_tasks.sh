#!/usr/bin/env bash
# Which step_adaptation B (HierarchicalLSTM's hypergradient step size) helps general-v4 in
# 1,000-step runs? general-v4 with step_adaptation=B, on training problems of its
# meta-training (general-v3's provenance), 3 seeds, against tuned Adam with the same tail
# (`none` is general-v4 as shipped; its baselines are reused for every B). Chosen here, on
# training problems, never on the held-out suite.
# Writes under ${OUT:-/tmp/step-adaptation-sweep}; then
#   python results/suite-tuned-v4/sweep_table.py OUT "B="   (B=0 is general-v4 as shipped)
# A run whose results.json exists is skipped, so a stopped sweep resumes.
# FLOOR=1 OUT=/tmp/step-adaptation-floor RATES="0.05 0.1": the same with step_adaptation_floor=1.
# STEPS=200: runs of that many steps (default 1,000).
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
out="${OUT:-/tmp/step-adaptation-sweep}"
rates="${RATES:-0.003 0.01 0.03 0.1 0.3}"
floor="${FLOOR:-}"  # step_adaptation_floor, if set
for b in $rates; do
  python -c "import sys; from keras_l2l import TrainedRule; \
floor = {'step_adaptation_floor': float(sys.argv[3])} if sys.argv[3] else {}; \
TrainedRule.from_preset('general-v4').reconfigured(step_adaptation=float(sys.argv[1]), **floor) \
.save_to_preset(sys.argv[2])" "$b" "$out/presets/b$b" "$floor"
done
settings="--steps ${STEPS:-1000} --seeds 3 --tuning-seeds 1 --grid coarse --baselines adam --baselines-anneal 0.5"
for problem in ${PROBLEMS:-mnist mlp/cifar10/32/relu/b128 family/rnn/25500 family/regression/34030 family/conv/20719 family/autoencoder/51675 family/logreg/63419 family/mlp/47832}; do
  dir="$out/$(echo "$problem" | tr / _)"
  [ -f "$dir/s0/results.json" ] || keras-l2l evaluate --optimizer general-v4 --problem "$problem" \
    $settings --out "$dir/s0"
  for b in $rates; do
    [ -f "$dir/s$b/results.json" ] || keras-l2l evaluate --optimizer "$out/presets/b$b" \
      --problem "$problem" $settings --baselines-from "$dir/s0" --out "$dir/s$b"
  done
done
