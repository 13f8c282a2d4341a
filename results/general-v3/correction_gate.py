"""`general-v2` as trained vs the same weights with `correction_gate_rms=C` (the direction
correction of a variable fades as RMS(m / sqrt(v)) falls below C), final eval_loss:

    python results/general-v3/correction_gate.py PROBLEMS STEPS C[,C...] [SEEDS]

PROBLEMS comma-separated (family:N:SEED[:KINDS] expanded), STEPS comma-separated horizons,
SEEDS a count (default 3: seeds 0-2). Markdown on stdout: mean final loss per task and
horizon, each C's ratio to as-trained, and the geometric mean of the ratios per horizon.
"""

import sys

import numpy as np

from keras_l2l import TrainedRule
from keras_l2l.cli import problem_names
from keras_l2l.datasets import default_data_dir
from keras_l2l.evaluation.runs import final_losses
from keras_l2l.problems.registry import get_problem


def main():
    names, horizons = problem_names(sys.argv[1]), [int(h) for h in sys.argv[2].split(",")]
    gates = [float(c) for c in sys.argv[3].split(",")]
    seeds = range(int(sys.argv[4]) if len(sys.argv) > 4 else 3)
    v2 = TrainedRule.from_preset("general-v2")
    variants = [("as trained", v2)] + [(f"C={c:g}", v2.reconfigured(correction_gate_rms=c)) for c in gates]
    print("| task | steps | " + " | ".join(label for label, _ in variants)
          + " | " + " | ".join(f"{label} / as trained" for label, _ in variants[1:]) + " |")
    print("|---|---|" + "---|" * (2 * len(variants) - 1))
    logs = {h: [] for h in horizons}
    for name in names:
        problem = get_problem(name, default_data_dir())
        means = {h: [] for h in horizons}
        for _, trained in variants:
            for h in horizons:
                finals = final_losses(trained.rule, trained.meta_tensors(), problem, seeds, h)
                means[h].append(np.mean(finals))
        for h in horizons:
            m = np.array(means[h])
            logs[h].append(np.log(m[1:] / m[0]))
            print(f"| {name} | {h} | " + " | ".join(f"{x:.4g}" for x in m) + " | "
                  + " | ".join(f"{x:.3f}" for x in m[1:] / m[0]) + " |", flush=True)
    for h in horizons:
        print(f"\n{h} steps, geometric mean over {len(names)} tasks of the ratio to as trained: "
              + ", ".join(f"{label} {x:.3f}" for (label, _), x in zip(variants[1:], np.exp(np.mean(logs[h], 0)))))
    print(f"\n(mean final eval_loss over seeds {list(seeds)})")


if __name__ == "__main__":
    main()
