"""How often a learned rule's long runs end in a loss spike, over more seeds than the suite's 10.

    python results/general-v3/spike_rate.py SEEDS RESULTS_DIR PRESET RULE_CONFIG [PRESET RULE_CONFIG ...]
    e.g. ... 20 results/suite-full-v3/tokens-embedding-gru/5000 general-v3 '{}' general-v3 '{"step_rms_clip": 1.0}'

At 5,000 steps the suite's mean-loss ratios swing with one or two seeds that spike late
(results/general-v3/gru_spikes_5000.md), so 10 seeds cannot tell two rules apart. This
runs seeds 0..SEEDS-1 of the evaluation's task and horizon for each candidate (a preset
with rule settings changed, '{}' for none) and prints per candidate the median and mean
final loss and how many seeds end above 3x the best tuned baseline's mean final loss in
RESULTS_DIR (whose 10 seeds are the first 10 here). Markdown on stdout.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from candidate_vs_suite import candidate_finals  # noqa: E402

from keras_l2l import TrainedRule  # noqa: E402
from keras_l2l.datasets import default_data_dir  # noqa: E402
from keras_l2l.evaluation.evaluate import per_seed_finals  # noqa: E402
from keras_l2l.problems.registry import get_problem  # noqa: E402

SPIKE_FACTOR = 3.0


def main():
    seeds, directory, pairs = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    results = json.loads((directory / "results.json").read_text())
    problem = get_problem(results["problem"], default_data_dir())
    best = results["ratio_to_best_baseline"]["baseline"]
    reference = float(np.mean(per_seed_finals(results["optimizers"][best])))
    print(f"{results['problem']}, {results['steps']} steps, seeds 0-{seeds - 1}; best tuned "
          f"baseline {best}, mean final loss {reference:.4g} over the suite's seeds\n")
    print("| candidate | median final | mean final | mean / best tuned | seeds above "
          f"{SPIKE_FACTOR:g}x best tuned | per seed |")
    print("|---|---|---|---|---|---|")
    for preset, config in zip(pairs[::2], pairs[1::2]):
        trained = TrainedRule.from_preset(preset)
        changes = json.loads(config)
        trained = trained.reconfigured(**changes) if changes else trained
        finals = np.array(candidate_finals(trained, problem, list(range(seeds)), results["steps"]))
        spikes = int(np.sum(finals > SPIKE_FACTOR * reference))
        print(f"| {preset} {config} | {np.median(finals):.4g} | {np.mean(finals):.4g} "
              f"| {np.mean(finals) / reference:.3f} | {spikes} of {seeds} "
              f"| {' '.join(f'{x:.3g}' for x in finals)} |", flush=True)


if __name__ == "__main__":
    main()
