"""Why `general` stalls on the held-out centroid regression: python results/general-nod/centroid.py

1. The per-variable step size lr_j that `general`'s tensor LSTM sets over a 1,000-step run
   (seed 0), with the relative update size |update| / |params|.
2. The final loss (eval_loss, seeds 0-2) of `general` as trained and with its per-parameter
   MLP's direction output d, scale output s, or both zeroed (same rule, other weights).
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_l2l import TrainedRule, flat
from keras_l2l.datasets import default_data_dir
from keras_l2l.problems.registry import get_problem
from keras_l2l.rollout import optimizee_step

sys.path.insert(0, str(Path(__file__).parent))
from heldout_1000 import SEEDS, STEPS, final_losses, zeroed  # noqa: E402

TASK = "suite/fashion-centroid-regression"
REPORT_AT = (0, 100, 200, 500, 999)


def step_sizes(trained, problem):
    rule, meta, shapes = trained.rule, trained.meta_params, problem.shapes()
    meta = {key: tf.constant(value) for key, value in meta.items()}
    seed = tf.constant(0, tf.int64)

    @tf.function
    def step(params, state, t):
        loss, grads, updates, new_state = optimizee_step(
            rule, problem, shapes, meta, params, state, seed, t)
        rows, _ = rule.variable_step(meta, rule.coordinate_sums(meta, grads, state), state)
        return loss, params + updates, new_state, rows[:, 0], tf.norm(updates) / tf.norm(params)

    params, state, losses = flat.flatten(problem.init_params(0)), rule.initial_state_for(shapes), []
    for t in range(STEPS):
        loss, params, state, log_lr, relative = step(params, state, tf.constant(t))
        losses.append(float(loss))
        if t in REPORT_AT:
            lr = rule.base_learning_rate * np.exp(log_lr.numpy())
            print(f"step {t:4d}: minibatch loss (last 10) {np.mean(losses[-10:]):.5f}, lr per "
                  f"variable {' '.join(f'{x:.2e}' for x in lr)}, |update|/|params| {float(relative):.2e}")


def main():
    trained = TrainedRule.from_preset("general-v2")
    problem = get_problem(TASK, default_data_dir())
    print(f"# {TASK}, `general-v2`\n\n1. Step sizes, seed 0:")
    step_sizes(trained, problem)
    print(f"\n2. Final eval_loss after {STEPS} steps, seeds {list(SEEDS)}:")
    for name, columns in (("as trained", []), ("d = 0", [0]), ("s = 0", [1]), ("d = s = 0", [0, 1])):
        finals = final_losses(trained, zeroed(trained, columns), problem)
        print(f"{name:10s}: {' '.join(f'{x:.5f}' for x in finals)} (mean {np.mean(finals):.5f})")


if __name__ == "__main__":
    main()
