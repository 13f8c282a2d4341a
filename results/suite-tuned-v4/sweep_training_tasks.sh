#!/usr/bin/env bash
# Does one fixed step multiplier s help general-v4 in 1,000-step runs? `general-v4` with its
# base_learning_rate times s (the same as LearnedOptimizer(learning_rate=s)), on training
# problems of its meta-training (general-v3's provenance), 3 seeds, against tuned Adam with
# the same tail; prints the learned / Adam ratio per problem and multiplier.
# Writes under ${OUT:-/tmp/v4-multiplier-sweep}; `python results/suite-tuned-v4/sweep_table.py OUT`.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
out="${OUT:-/tmp/v4-multiplier-sweep}"
multipliers="1 1.41 2 2.83"
for s in $multipliers; do
  mkdir -p "$out/presets/p$s"
  cp keras_l2l/presets/general-v4/{weights.npz,provenance.json} "$out/presets/p$s/"
  python -c "import json, sys; c = json.load(open('keras_l2l/presets/general-v4/config.json')); \
c['config']['base_learning_rate'] *= float(sys.argv[1]); \
json.dump(c, open(sys.argv[2], 'w'), indent=2)" "$s" "$out/presets/p$s/config.json"
done
settings="--steps 1000 --seeds 3 --tuning-seeds 1 --grid coarse --baselines adam --baselines-anneal 0.5"
for problem in ${PROBLEMS:-mnist mlp/cifar10/32/relu/b128 family/rnn/25500 family/regression/34030 family/conv/20719 family/autoencoder/51675 family/logreg/63419 family/mlp/47832}; do
  dir="$out/$(echo "$problem" | tr / _)"
  for s in $multipliers; do
    reuse=""
    [ "$s" = 1 ] || reuse="--baselines-from $dir/s1"
    keras-l2l evaluate --optimizer "$out/presets/p$s" --problem "$problem" $settings $reuse \
      --out "$dir/s$s"
  done
done
