#!/usr/bin/env bash
# Should general-v6's end-of-run schedule also cover runs of at most 200 steps? general-v6
# with anneal_after=A (shipped: 200, so runs of T <= 200 steps have no tail; any A < 200
# gives them the tail over their last T/2 steps, and leaves runs of T >= 400 exactly as
# they are) on the 8 training problems of results/step-adaptation's sweep, 3 seeds,
# against tuned Adam with the same tail. Chosen on training problems, never on the
# held-out suite.
# Needs the 200-step step-adaptation sweep (its general-v6 runs, s0.05, and its baselines):
#   STEPS=200 FLOOR=1 OUT=/tmp/step-adaptation-200 RATES="0.05 0.1 0.2 0.4" \
#     bash results/step-adaptation/sweep_training_tasks.sh
# then this (writes OUT/<problem>/a<A>; a run whose results.json exists is skipped):
#   SWEEP=/tmp/step-adaptation-200 OUT=/tmp/anneal-after-200 bash results/anneal-after/sweep_training_tasks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export KERAS_L2L_DATA_DIR="${KERAS_L2L_DATA_DIR:-../shared/data}"
sweep="${SWEEP:-/tmp/step-adaptation-200}"
out="${OUT:-/tmp/anneal-after-200}"
values="${VALUES:-0}"
for a in $values; do
  python -c "import sys; from keras_l2l import TrainedRule; \
TrainedRule.from_preset('general-v6').reconfigured(anneal_after=int(sys.argv[1])) \
.save_to_preset(sys.argv[2])" "$a" "$out/presets/a$a"
done
settings="--steps ${STEPS:-200} --seeds 3 --tuning-seeds 1 --grid coarse --baselines adam --baselines-anneal 0.5"
for dir in "$sweep"/*/s0.05; do
  problem=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['problem'])" "$dir/results.json")
  name=$(basename "$(dirname "$dir")")
  for a in $values; do
    [ -f "$out/$name/a$a/results.json" ] || keras-l2l evaluate --optimizer "$out/presets/a$a" \
      --problem "$problem" $settings --baselines-from "$(dirname "$dir")/s0" --out "$out/$name/a$a"
  done
done
python - "$sweep" "$out" $values <<'PY'
import json, math, sys
from pathlib import Path
sweep, out, values = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
ratio = lambda p: json.loads(p.read_text())["ratio_to_best_baseline"]["mean"]
rows = {d.parent.name: [ratio(d / "results.json")] + [ratio(out / d.parent.name / f"a{a}" / "results.json") for a in values]
        for d in sorted(sweep.glob("*/s0.05"))}
print("| problem | general-v6 (anneal_after=200) | " + " | ".join(f"anneal_after={a}" for a in values) + " |")
print("|---|---|" + "---|" * len(values))
for name, r in rows.items():
    print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in r) + " |")
means = [math.exp(sum(math.log(r[i]) for r in rows.values()) / len(rows)) for i in range(len(values) + 1)]
print(f"| geometric mean ({len(rows)}) | " + " | ".join(f"{m:.3f}" for m in means) + " |")
PY
