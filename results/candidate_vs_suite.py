"""Screen a learned rule against a finished held-out suite run without re-tuning its baselines:
the candidate's runs only, on the suite's evaluation seeds, scored as `evaluate` scores them,
against the tuned baselines' per-seed final losses stored in SUITE_DIR/TASK/STEPS/results.json.

    python results/candidate_vs_suite.py PRESET RULE_CONFIG SUITE_DIR STEPS[,STEPS] [TASK,...]

PRESET a preset name or directory, RULE_CONFIG a JSON object of rule settings to change
(`TrainedRule.reconfigured`, e.g. '{"correction_gate_rms": 0.1}'; '{}' for none).
Markdown on stdout. A screen, not a report: the suite's own command reruns everything.
"""

import json
import sys
from pathlib import Path

import numpy as np

from keras_l2l import TrainedRule
from keras_l2l.datasets import default_data_dir
from keras_l2l.evaluation import runs, stats
from keras_l2l.problems.registry import get_problem
from keras_l2l.problems.suite_tasks import TASKS
from keras_l2l.rollout import make_rollout


def candidate_finals(trained, problem, seeds, steps):
    run, (final_loss, _) = make_rollout(trained.rule, problem), runs.compile_scores(problem)
    starts, meta = runs.initial_params(problem, seeds), trained.meta_tensors()
    finals = []
    for seed in seeds:
        _, final, _ = runs.run_seed(run, meta, starts[seed], seed, steps)
        finals.append(runs.finite_or_inf(final_loss(final, runs.seed_tensor(seed))))
    return finals


def main():
    preset, config, suite_dir = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    horizons = [int(h) for h in sys.argv[4].split(",")]
    tasks = sys.argv[5].split(",") if len(sys.argv) > 5 else list(TASKS)
    trained = TrainedRule.from_preset(preset)
    trained = trained.reconfigured(**config) if config else trained
    print(f"Candidate: {preset} with {config or 'no changes'}; baselines from {suite_dir}\n")
    print("| task | steps | suite's learned | candidate | candidate / suite's learned "
          "| best tuned | candidate / best tuned [95% CI] |")
    print("|---|---|---|---|---|---|---|")
    logs = {h: [] for h in horizons}
    for task in tasks:
        problem = None
        for steps in horizons:
            path = suite_dir / task / str(steps) / "results.json"
            if not path.exists():
                continue
            results = json.loads(path.read_text())
            problem = problem or get_problem(f"suite/{task}", default_data_dir())
            finals = candidate_finals(trained, problem, results["seeds"], steps)
            per_seed = {name: [np.inf if v is None else v for v in entry["final_loss"]["per_seed"]]
                        for name, entry in results["optimizers"].items()}
            best = results["ratio_to_best_baseline"]["baseline"]
            ratio, lo, hi = stats.bootstrap_ratio(finals, per_seed[best])
            logs[steps].append(np.log(ratio))
            print(f"| {task} | {steps} | {np.mean(per_seed['learned']):.4g} | {np.mean(finals):.4g} "
                  f"| {np.mean(finals) / np.mean(per_seed['learned']):.3f} | {np.mean(per_seed[best]):.4g} "
                  f"({best}) | {ratio:.3f} [{lo:.3f}, {hi:.3f}] |",
                  flush=True)
    for steps, values in logs.items():
        if values:
            print(f"\n{steps} steps: geometric mean of candidate / best tuned over {len(values)} "
                  f"tasks {np.exp(np.mean(values)):.3f}")


if __name__ == "__main__":
    main()
