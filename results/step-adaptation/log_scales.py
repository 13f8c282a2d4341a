"""Where `step_adaptation` moves each variable's step size, on held-out suite tasks.

    python results/step-adaptation/log_scales.py [--preset P] [--steps N] [TASK ...]
    # default: general-v5, 1,000 steps, four tasks

Runs the preset (a `step_adaptation` rule) for N steps (seed 0, the loop `keras-l2l evaluate` runs: the same
batches, the run's length known) and prints, at 5%, 20%, 50% and 100% of them, the multiplier
exp(tensor_log_scale) of each variable: whether the hypergradient raised or lowered
the rule's step sizes. Prints a Markdown table.
"""

import argparse

import numpy as np
import tensorflow as tf

from keras_l2l import TrainedRule, flat
from keras_l2l.problems.suite_tasks import build_task
from keras_l2l.rollout import optimizee_step

STEPS = 1000
DEFAULT_TASKS = ("fashion-two-input", "cifar-logistic-b512", "fashion-conv-autoencoder",
                 "tokens-embedding-gru")


def report_steps(steps):
    """The steps printed: 5%, 20%, 50% and 100% of the run (50, 200, 500, 1000 for 1,000)."""
    return (steps // 20, steps // 5, steps // 2, steps)


def multipliers(task, preset="general-v5", seed=0, steps=STEPS):
    """{step: per-variable multipliers}, and the variables' names."""
    problem = build_task(task)
    trained = TrainedRule.from_preset(preset)
    rule, meta, shapes = trained.rule, trained.meta_tensors(), problem.shapes()
    params = flat.flatten(problem.init_params(seed))
    state = rule.with_horizon(rule.initial_state_for(shapes), steps)

    @tf.function(jit_compile=False)
    def step(params, state, t):
        _, _, updates, state = optimizee_step(rule, problem, shapes, meta, params, state,
                                              tf.constant(seed, tf.int64), t)
        return params + updates, state

    seen = {}
    for t in range(steps):
        params, state = step(params, state, tf.constant(t))
        if t + 1 in report_steps(steps):
            seen[t + 1] = np.exp(state["tensor_log_scale"].numpy())
    return seen, [str(v.path) for v in problem.model.trainable_variables]


def main(preset, tasks, steps=STEPS):
    report = report_steps(steps)
    print(f"Multipliers exp(tensor_log_scale) of `{preset}`, seed 0, {steps:,} steps.\n")
    print("| task | variable | " + " | ".join(f"step {s}" for s in report) + " |")
    print("|---|---|" + "---|" * len(report))
    for task in tasks:
        seen, names = multipliers(task, preset, steps=steps)
        for j, name in enumerate(names):
            print(f"| {task} | {name} | " + " | ".join(f"{seen[s][j]:.2f}" for s in report) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="general-v5")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("tasks", nargs="*", default=DEFAULT_TASKS)
    args = parser.parse_args()
    main(args.preset, args.tasks, args.steps)
