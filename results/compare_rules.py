"""Compare the learned rules of several evaluations run on the same seeds (the README's
variant tables): python results/compare_rules.py REFERENCE_DIR OTHER_DIR [OTHER_DIR ...]

For each OTHER, prints its learned rule's mean final loss over REFERENCE's learned rule's
(paired bootstrap 95% CI), the geometric mean of the per-seed ratios (log-space t-interval),
and its mean final loss over tuned Adam's and over the best tuned baseline's.
"""

import json
import sys
from pathlib import Path

from keras_l2l.evaluation import stats


def per_seed(results, name):
    return [float("inf") if v is None else v
            for v in results["optimizers"][name]["final_loss"]["per_seed"]]


def load(directory):
    return json.loads((Path(directory) / "results.json").read_text())


def main(reference, *others):
    base = load(reference)
    print("| evaluation | final loss | / reference [95% CI] | per-seed geomean [95% CI] "
          "| / tuned Adam [95% CI] | / best tuned [95% CI] |")
    print("|---|---|---|---|---|---|")
    for directory in (reference, *others):
        results = load(directory)
        if results["optimizers"]["learned"]["final_loss"].get("per_seed") is None:
            raise SystemExit(f"{directory}: no per-seed final losses")
        if results["seeds"] != base["seeds"]:
            raise SystemExit(f"{directory}: seeds {results['seeds']} differ from {reference}'s")
        learned = per_seed(results, "learned")
        ref = stats.bootstrap_ratio(learned, per_seed(base, "learned"))
        geo = stats.paired_log_ratio(learned, per_seed(base, "learned"))
        adam = stats.bootstrap_ratio(learned, per_seed(results, "adam"))
        best = results["ratio_to_best_baseline"]
        print(f"| {directory} | {sum(learned) / len(learned):.4g} "
              f"| {ref[0]:.3g} [{ref[1]:.3g}, {ref[2]:.3g}] "
              f"| {float(geo[0]):.3g} [{float(geo[1]):.3g}, {float(geo[2]):.3g}] "
              f"| {adam[0]:.3g} [{adam[1]:.3g}, {adam[2]:.3g}] "
              f"| {best['mean']:.3g} [{best['ci95'][0]:.3g}, {best['ci95'][1]:.3g}] ({best['baseline']}) |")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
