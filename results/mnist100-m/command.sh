#!/usr/bin/env bash
# Run M: the paper's setting (MNIST MLP, 100 steps) again, from `mnist-hierarchical`
# (results/mnist100-h stage 2) with general-v6's hypergradient step sizes
# (step_adaptation=0.05, floor 1), meta-trained further as stage 2 was (full
# backpropagation through the 100 steps, log loss, exponential weights, meta-lr 3e-4).
#   m1: that, 2,000 runs (EPOCHS; its first 1,000 were a first call, then resumed)
#   m2: m1's start plus the end-of-run schedule (steps fall linearly to 0 over the last 50)
#   m3: m1's result after 1,000 runs, continued at meta-lr 1e-4 (1,000 runs)
# Each keeps its best point on the trainer's validation seeds (500,000+, never the
# evaluation seeds 0-19) and is evaluated on 20 seeds against the tuned baselines of
# mnist100-h's stage 2. The preset is the run with the lowest validation loss.
#   bash results/mnist100-m/command.sh m1     # m2, m3; resumes from its checkpoints
set -euo pipefail
cd "$(dirname "$0")/../.."
run="${1:-m1}"
adapt='"step_adaptation": 0.05, "step_adaptation_floor": 1.0'
case "$run" in
  m1) init=(--init-from mnist-hierarchical --rule-config "{$adapt}"); lr=3e-4; seed=5; epochs=2000
      what="mnist-hierarchical with general-v6's step adaptation" ;;
  m2) init=(--init-from mnist-hierarchical --rule-config "{$adapt, \"anneal_fraction\": 0.5}"); lr=3e-4
      seed=6; epochs=1000; what="mnist-hierarchical with general-v6's step adaptation and a tail over the last half" ;;
  m3) init=(--init-from results/mnist100-m/preset-m1-1000); lr=1e-4; seed=7; epochs=1000
      what="run m1's result after 1,000 runs, at meta-lr 1e-4" ;;
  *) echo "usage: $0 m1|m2|m3" >&2; exit 2 ;;
esac
keras-l2l meta-train "${init[@]}" \
  --problem mnist --horizon 100 --unroll 100 --epochs "${EPOCHS:-$epochs}" --lr "$lr" --clip-norm 1 \
  --log-loss --meta-loss exponential --validation-every 50 --validation-runs 8 \
  --validation-metric final --seed "$seed" \
  --data-dir "${KERAS_L2L_DATA_DIR:-../shared/data}" \
  --checkpoint-dir "results/mnist100-m/checkpoints-$run" --out "results/mnist100-m/preset-$run" \
  --description "run M ($run): $what, meta-trained at 100 steps"
# Each call's CPU-hours (a resumed run's provenance counts its last call only; the runs of
# 2026-12-07 were made before this line existed, and their lines were written by it afterwards).
python -c "import json, sys; p = json.load(open(sys.argv[1])); \
print(json.dumps({k: p[k] for k in ('command', 'epochs', 'cpu_hours_this_session', \
'seconds_this_session', 'git_hash', 'best_validation_loss')}))" \
  "results/mnist100-m/preset-$run/provenance.json" >> "results/mnist100-m/cpu-hours-$run.jsonl"
keras-l2l evaluate --optimizer "results/mnist100-m/preset-$run" --problem mnist --steps 100 --seeds 20 \
  --baselines-from results/mnist100-h/eval2-100 --out "results/mnist100-m/eval-$run"
