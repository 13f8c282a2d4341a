"""`general-v2` as trained and with its direction correction zeroed (d = 0), every held-out
suite task, 1,000 steps, seeds 0-2: python results/general-nod/heldout_1000.py [PROBLEM ...]
(default: every held-out suite task; any problem names, e.g. meta-training tasks, instead)

A diagnosis, not a selection: centroid.py found d = 0 far better on the centroid regression;
this shows where else the learned direction helps or hurts late in a run. Markdown on stdout.
"""

import sys

import numpy as np
import tensorflow as tf

from keras_l2l import TrainedRule, flat
from keras_l2l.datasets import default_data_dir
from keras_l2l.problems.registry import get_problem
from keras_l2l.problems.suite_tasks import TASKS
from keras_l2l.rollout import make_rollout

STEPS, SEEDS = 1000, (0, 1, 2)


def zeroed(trained, columns):
    """`trained`'s meta-parameters with these output columns of the per-parameter MLP zeroed
    (0: the direction correction d, 1: the scale s)."""
    meta = {key: np.array(value) for key, value in trained.meta_params.items()}
    for column in columns:
        meta["param_out_kernel"][:, column] = 0.0
        meta["param_out_bias"][column] = 0.0
    return {key: tf.constant(value) for key, value in meta.items()}


def final_losses(trained, meta, problem):
    run, finals = make_rollout(trained.rule, problem), []
    for seed in SEEDS:
        params = flat.flatten(problem.init_params(seed))
        _, final = run(meta, params, tf.constant(seed, tf.int64), tf.constant(STEPS))
        finals.append(float(problem.eval_loss(flat.unflatten(final, problem.shapes()), seed)))
    return np.array(finals)


def main():
    trained = TrainedRule.from_preset("general-v2")
    as_trained, no_direction = zeroed(trained, []), zeroed(trained, [0])
    print(f"| task | as trained | d = 0 | d = 0 / as trained |\n|---|---|---|---|")
    logs = []
    for name in sys.argv[1:] or [f"suite/{task}" for task in TASKS]:
        problem = get_problem(name, default_data_dir())
        a = final_losses(trained, as_trained, problem)
        b = final_losses(trained, no_direction, problem)
        logs.append(np.log(b.mean() / a.mean()))
        print(f"| {name.removeprefix('suite/')} | {a.mean():.4g} | {b.mean():.4g} | {b.mean() / a.mean():.3f} |", flush=True)
    print(f"\nGeometric mean of d = 0 / as trained over {len(logs)} tasks: {np.exp(np.mean(logs)):.3f}"
          f" (mean final eval_loss over seeds {list(SEEDS)}, {STEPS} steps)")


if __name__ == "__main__":
    main()
