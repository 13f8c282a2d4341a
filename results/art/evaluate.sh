#!/usr/bin/env bash
# Evaluates each art candidate (`bash evaluate.sh lstm general`; default both) against tuned
# Adam, tuned NAG (wide grid 2^-12..2^12, 2 tuning seeds) and full-batch L-BFGS, 100 steps, seeds 0..9:
# at 128x128 with held-out content (rocket, camera) and the unseen style hubble, and at 64x64
# with the held-out content and the training style ihc. The candidate chosen in advance is the
# one with the lower best validation loss on the 64x64 training task (chosen.txt); art.png
# shows its images and curves. Evaluations run side by side; finished ones are skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=results/art
for name in ${@:-lstm general}; do
  for spec in "style/test/hubble/128 128-hubble" "style/test/ihc/64 64-ihc"; do
    set -- $spec
    [ -f $OUT/eval-$name-$2/results.json ] || nice -n 10 keras-l2l evaluate \
      --optimizer $OUT/preset-$name --problem "$1" --steps 100 --seeds 10 --tuning-seeds 2 \
      --grid wide --baselines adam,nag,lbfgs --out $OUT/eval-$name-$2 \
      > $OUT/run-eval-$name-$2.log 2>&1 &
  done
done
wait
CHOSEN=$(python - <<'PY'
import json
best = {name: json.load(open(f"results/art/preset-{name}/provenance.json"))["best_validation_loss"]
        for name in ("lstm", "general")}
print(min(best, key=best.get))
PY
)
echo "$CHOSEN" > $OUT/chosen.txt
if [ -f $OUT/eval-$CHOSEN-64-ihc/results.json ] && [ -f $OUT/eval-$CHOSEN-128-hubble/results.json ]; then
  nice -n 10 python $OUT/figure.py $OUT/preset-$CHOSEN $OUT/eval-$CHOSEN-128-hubble $OUT/eval-$CHOSEN-64-ihc
fi
nice -n 10 python $OUT/summary.py
