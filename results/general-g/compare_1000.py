"""Run G's preset against `general` on the held-out suite at 1,000 steps (markdown on stdout).

G's losses come from results/general-g/suite-1000 (its tuned Adam only); `general`'s and the
tuned baselines' from results/suite-1000 (same 5 seeds, same tuning seed and grid). The two
runs' tuned Adam must pick the same rate and agree to 2% per seed (runs are not bit-identical
across processes on every task: the separable conv net at batch 16 differs by up to ~1%), or the
comparison is refused; the largest difference is printed.
"""

import json
from pathlib import Path

import numpy as np

from keras_l2l.evaluation.stats import bootstrap_ratio

ROOT = Path(__file__).resolve().parents[2]
G_RUN, GENERAL_RUN = ROOT / "results/general-g/suite-1000", ROOT / "results/suite-1000"
BASELINES = ("adam", "adamw", "nag", "rmsprop")


def per_seed(results, name):
    return np.asarray(results["optimizers"][name]["final_loss"]["per_seed"], np.float64)


def main():
    rows, logs, adam_gap = [], {"general": [], "best": []}, 0.0
    for task_dir in sorted(p for p in G_RUN.iterdir() if (p / "1000/results.json").exists()):
        g = json.loads((task_dir / "1000/results.json").read_text())
        ref = json.loads((GENERAL_RUN / task_dir.name / "1000/results.json").read_text())
        gap = np.max(np.abs(per_seed(g, "adam") / per_seed(ref, "adam") - 1))
        same_rate = g["optimizers"]["adam"]["learning_rate"] == ref["optimizers"]["adam"]["learning_rate"]
        if not same_rate or gap > 0.02:
            raise SystemExit(f"{task_dir.name}: tuned Adam differs between the runs ({gap:.1%})")
        adam_gap = max(adam_gap, gap)
        best = min(BASELINES, key=lambda b: per_seed(ref, b).mean())
        learned = per_seed(g, "learned")
        vs_general = bootstrap_ratio(learned, per_seed(ref, "learned"))
        vs_best = bootstrap_ratio(learned, per_seed(ref, best))
        general_vs_best = ref["ratio_to_best_baseline"]["mean"]
        logs["general"].append(np.log(vs_general[0]))
        logs["best"].append(np.log(vs_best[0]))
        rows.append(
            f"| {task_dir.name} | {vs_general[0]:.3f} [{vs_general[1]:.3f}, {vs_general[2]:.3f}] "
            f"| {vs_best[0]:.3f} [{vs_best[1]:.3f}, {vs_best[2]:.3f}] ({best}) | {general_vs_best:.3f} |"
        )
    print("# Run G vs `general`, held-out suite, 1,000 steps (5 seeds)\n")
    print("| task | G / general [95% CI] | G / best tuned baseline [95% CI] | general / best |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nGeometric mean over {len(rows)} tasks: G / general {np.exp(np.mean(logs['general'])):.3f}, "
          f"G / best tuned baseline {np.exp(np.mean(logs['best'])):.3f}. Tuned Adam of the two runs "
          f"agrees to {adam_gap:.2%} per seed.")


if __name__ == "__main__":
    main()
