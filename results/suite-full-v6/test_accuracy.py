"""Test accuracy beside the final training loss on the held-out suite, per task and horizon.

The suite's ratios are of final loss on the training data, as issue 11 defines them.
At 5,000 steps several tasks end near zero training loss, where those ratios are large;
this asks whether the test accuracy differs too. Per task with a test metric: the
learned optimizer's mean test accuracy, that of the tuned baseline with the lowest mean
final loss ('best', the suite's reference) and of tuned Adam, and the paired difference
learned - best with its 95% Student-t interval over the evaluation seeds. Reads the
committed results.json files only.

    python results/suite-full-v6/test_accuracy.py > results/suite-full-v6/test_accuracy.md
"""

import json
from pathlib import Path

import numpy as np

from keras_l2l.evaluation.stats import t_interval

HERE = Path(__file__).resolve().parent


def rows(horizon):
    for path in sorted(HERE.glob(f"*/{horizon}/results.json")):
        result = json.loads(path.read_text())
        if not result.get("test_metric_name"):
            continue
        optimizers = result["optimizers"]
        baselines = {k: v for k, v in optimizers.items() if k != "learned"}
        best = min(baselines, key=lambda k: baselines[k]["final_loss"]["mean"])
        learned = np.array(optimizers["learned"]["test_metric"]["per_seed"])
        reference = np.array(baselines[best]["test_metric"]["per_seed"])
        mean, lo, hi = t_interval(learned - reference)
        yield (path.parts[-3], optimizers["learned"]["final_loss"]["mean"]
               / baselines[best]["final_loss"]["mean"], learned.mean(), best,
               reference.mean(), optimizers["adam"]["test_metric"]["mean"], mean, lo, hi)


def main():
    print("# Held-out suite, `general-v6`: test accuracy beside the final-loss ratio\n")
    print("`python results/suite-full-v6/test_accuracy.py`, from the committed results.json "
          "files (10 evaluation seeds; 'best' = the tuned baseline with the lowest mean final "
          "loss; regression tasks have no test metric and are left out).\n")
    for horizon in (200, 1000, 5000):
        print(f"## {horizon} steps\n")
        print("| task | final loss / best | test accuracy, learned | best (its accuracy) "
              "| tuned Adam | learned - best [95% CI] |")
        print("|---|---|---|---|---|---|")
        for task, ratio, learned, best, reference, adam, mean, lo, hi in rows(horizon):
            print(f"| {task} | {ratio:.3g} | {learned:.4f} | {best} ({reference:.4f}) | "
                  f"{adam:.4f} | {mean:+.4f} [{lo:+.4f}, {hi:+.4f}] |")
        print()


if __name__ == "__main__":
    main()
