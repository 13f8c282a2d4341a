"""Why `general` ends far behind tuned Adam on long runs: its loss curve window by window.

    python results/general-nod/spikes_5000.py suite/fashion-two-input 5000 0 0.015625 [PRESET]

(PROBLEM, STEPS, SEED, a rate for Adam, the learned preset, default `general-v2`; output
in spikes_5000.md). Per 250-step window of one run: mean and max minibatch loss, mean
|m / sqrt(v)| (Adam's normalised direction), and for the learned rule the mean |d| of its
direction correction (before any correction gate) and the mean per-variable step size.
A diagnosis, not a selection: suite-full-v2 found 62x tuned Adam at 5,000 steps.
"""

import sys

import numpy as np
import tensorflow as tf

from keras_l2l import TrainedRule, flat
from keras_l2l import preprocessing as prep
from keras_l2l.datasets import default_data_dir
from keras_l2l.problems.registry import get_problem
from keras_l2l.rollout import optimizee_step
from keras_l2l.rules import Adam

WINDOW = 250


def trace(rule, meta, problem, steps, seed, learned):
    """Per step: [loss, mean |m/sqrt(v)|, mean |d|, mean lr_j] (the last two 0 for Adam)."""
    shapes, seed_t = problem.shapes(), tf.constant(seed, tf.int64)
    moments0 = tf.zeros([sum(int(np.prod(s)) for s in shapes), 3])

    @tf.function
    def step(params, state, moments, t):
        loss, grads, updates, new_state = optimizee_step(
            rule, problem, shapes, meta, params, state, seed_t, t)
        moments, features = prep.adam_features(grads, moments, tf.cast(t, tf.float32) + 1.0)
        extra = [0.0, 0.0]
        if learned:
            rows, _ = rule.variable_step(meta, rule.coordinate_sums(meta, grads, state), state)
            d = rule.param_outputs(meta, features, tf.gather(rows, state["tensor_index"]))[:, 0]
            lr = rule.base_learning_rate * tf.exp(rows[:, 0])
            extra = [tf.reduce_mean(tf.abs(d)), tf.reduce_mean(lr)]
        row = tf.stack([loss, tf.reduce_mean(tf.abs(features[:, 1])), *extra])
        return params + updates, new_state, moments, row

    params, state, moments = flat.flatten(problem.init_params(seed)), rule.initial_state_for(shapes), moments0
    rows = []
    for t in range(steps):
        params, state, moments, row = step(params, state, moments, tf.constant(t))
        rows.append(row.numpy())
    final = float(problem.eval_loss(flat.unflatten(params, shapes), seed))
    return np.array(rows), final


def main():
    name, steps, seed, adam_rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    preset = sys.argv[5] if len(sys.argv) > 5 else "general-v2"
    label = preset.removeprefix("general-")
    problem = get_problem(name, default_data_dir())
    trained = TrainedRule.from_preset(preset)
    learned, learned_final = trace(trained.rule, trained.meta_tensors(), problem, steps, seed, True)
    adam, adam_final = trace(Adam(adam_rate), Adam(adam_rate).init_meta_params(), problem, steps, seed, False)
    print(f"# {name}, seed {seed}, {steps} steps: `{preset}` vs Adam at {adam_rate:g}\n")
    print(f"Final eval_loss: {preset} {learned_final:.4g}, Adam {adam_final:.4g}\n")
    print(f"| steps | {label} mean loss | {label} max loss | {label} mean abs m/sqrt(v) "
          f"| {label} mean abs d | {label} mean lr_j "
          "| Adam mean loss | Adam max loss | Adam mean abs m/sqrt(v) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for start in range(0, steps, WINDOW):
        a, b = learned[start:start + WINDOW], adam[start:start + WINDOW]
        print(f"| {start}-{start + len(a) - 1} | {a[:, 0].mean():.4g} | {a[:, 0].max():.4g} | "
              f"{a[:, 1].mean():.3g} | {a[:, 2].mean():.3g} | {a[:, 3].mean():.2e} | "
              f"{b[:, 0].mean():.4g} | {b[:, 0].max():.4g} | {b[:, 1].mean():.3g} |")


if __name__ == "__main__":
    main()
