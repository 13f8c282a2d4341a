"""Each run M evaluation's final loss against tuned Adam and the best tuned baseline.

    python results/mnist100-m/ratios.py > results/mnist100-m/ratios.md

Issue 11's target for the paper's setting is <= 0.8x best-grid Adam with its CI below 1;
`keras-l2l evaluate`'s report gives the ratio to the best baseline (NAG here). Ratios of
mean final losses over the 20 evaluation seeds, 95% paired percentile bootstrap
(`keras_l2l.evaluation.stats.bootstrap_ratio`). The first row is `mnist-hierarchical`;
the validation loss is each run's best on the trainer's 8 validation seeds (the same seeds
for every run). A second table covers generalization.sh's runs (the specialists on the
paper's other MNIST tasks and at 1,000 steps).
"""

import json
from pathlib import Path

from keras_l2l.evaluation.stats import bootstrap_ratio

HERE = Path(__file__).resolve().parent
PRESETS = HERE.parents[1] / "keras_l2l" / "presets"
# {row: (evaluation directory, preset directory)}
RUNS = {"`mnist-hierarchical` (mnist100-h stage 2)":
        (HERE.parent / "mnist100-h" / "eval2-100", PRESETS / "mnist-hierarchical")}
RUNS.update({path.name[len("eval-"):]: (path, HERE / path.name.replace("eval-", "preset-"))
             for path in sorted(HERE.glob("eval-*"))})


def main():
    print("| run | learned final loss | / tuned Adam [95% CI] | / tuned NAG [95% CI] | validation loss |")
    print("|---|---|---|---|---|")
    for name, (evaluation, preset) in RUNS.items():
        results = json.loads((evaluation / "results.json").read_text())
        finals = {k: v["final_loss"]["per_seed"] for k, v in results["optimizers"].items()}
        cells = [f"{results['optimizers']['learned']['final_loss']['mean']:.4f}"]
        for baseline in ("adam", "nag"):
            ratio, lo, hi = bootstrap_ratio(finals["learned"], finals[baseline])
            cells.append(f"{ratio:.3f} [{lo:.3f}, {hi:.3f}]")
        validation = json.loads((preset / "provenance.json").read_text())["best_validation_loss"]
        cells.append(f"{validation:.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| preset | task | learned final loss | / tuned Adam [95% CI] | / best tuned baseline [95% CI] |")
    print("|---|---|---|---|---|")
    for path in sorted(HERE.glob("generalization/*/*/results.json")):
        results = json.loads(path.read_text())
        finals = {k: v["final_loss"]["per_seed"] for k, v in results["optimizers"].items()}
        adam = bootstrap_ratio(finals["learned"], finals["adam"])
        best = results["ratio_to_best_baseline"]
        print(f"| {path.parts[-3]} | {path.parts[-2]} | "
              f"{results['optimizers']['learned']['final_loss']['mean']:.4f} | "
              f"{adam[0]:.3f} [{adam[1]:.3f}, {adam[2]:.3f}] | {best['mean']:.3f} "
              f"[{best['ci95'][0]:.3f}, {best['ci95'][1]:.3f}] ({best['baseline']}) |")


if __name__ == "__main__":
    main()
