"""Screen a learned rule against finished evaluations without re-tuning their baselines:
the candidate's runs only, on each evaluation's seeds and horizon, scored as `evaluate`
scores them, against the tuned baselines' per-seed final losses in its results.json.

    python results/candidate_vs_suite.py PRESET RULE_CONFIG RESULTS_DIR [RESULTS_DIR ...]
    e.g. ... general-v2 '{"correction_gate_rms": 0.1}' results/suite-full-v2/*/1000

PRESET a preset name or directory, RULE_CONFIG a JSON object of rule settings to change
(`TrainedRule.reconfigured`; '{}' for none), each RESULTS_DIR holds a results.json
(`keras-l2l evaluate`, one task of a suite run). Markdown on stdout, geometric means per
horizon. A screen, not a report: for a preset, `keras-l2l evaluate --baselines-from`
writes the full evaluation with the same reuse of tuned baselines.
"""

import json
import sys
from pathlib import Path

import numpy as np

from keras_l2l import TrainedRule
from keras_l2l.datasets import default_data_dir
from keras_l2l.evaluation import runs, stats
from keras_l2l.evaluation.evaluate import per_seed_finals
from keras_l2l.problems.registry import get_problem


def main():
    preset, config, directories = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
    trained = TrainedRule.from_preset(preset)
    trained = trained.reconfigured(**config) if config else trained
    print(f"Candidate: {preset} with {config or 'no changes'}\n")
    print("| evaluation | steps | its learned | candidate | candidate / its learned "
          "| best tuned | candidate / best tuned [95% CI] |")
    print("|---|---|---|---|---|---|---|")
    logs = {}
    for directory in directories:
        results = json.loads((Path(directory) / "results.json").read_text())
        steps = results["steps"]
        problem = get_problem(results["problem"], default_data_dir())
        finals = runs.final_losses(trained.rule, trained.meta_tensors(), problem,
                                   results["seeds"], steps)
        per_seed = {name: per_seed_finals(entry) for name, entry in results["optimizers"].items()}
        best = results["ratio_to_best_baseline"]["baseline"]
        ratio, lo, hi = stats.bootstrap_ratio(finals, per_seed[best])
        logs.setdefault(steps, []).append(np.log(ratio))
        print(f"| {directory} | {steps} | {np.mean(per_seed['learned']):.4g} | {np.mean(finals):.4g} "
              f"| {np.mean(finals) / np.mean(per_seed['learned']):.3f} | {np.mean(per_seed[best]):.4g} "
              f"({best}) | {ratio:.3f} [{lo:.3f}, {hi:.3f}] |",
              flush=True)
    for steps, values in logs.items():
        print(f"\n{steps} steps: geometric mean of candidate / best tuned over {len(values)} "
              f"evaluations {np.exp(np.mean(values)):.3f}")


if __name__ == "__main__":
    main()
