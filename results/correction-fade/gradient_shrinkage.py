"""How far each variable's gradient shrinks in a long `general-v6` run: a candidate signal
for when the direction correction's push at zero input, d(0, context), should go.

Centering the correction (d(x) - d(0)) helps the runs that end near zero loss and hurts
others (results/correction-fade/README.md). If a variable's raw gradient RMS, sqrt(mean v)
with v Adam's bias-corrected second moment as the rule reads it, falls far below its peak
in the first kind of run and not in the second, the rule could center only there. Prints,
per problem (seed 0), each variable's sqrt(mean v) over its peak so far (sampled every 50
steps) at a fifth, half (where the tail starts) and the end of the run:

    python results/correction-fade/gradient_shrinkage.py [--steps 5000] PROBLEM ...

A diagnosis; held-out problems may be named, nothing is chosen on them.
"""

import argparse

import numpy as np
import tensorflow as tf

from keras_l2l import TrainedRule, flat
from keras_l2l.datasets import default_data_dir
from keras_l2l.preprocessing import ADAM_DECAYS
from keras_l2l.problems.registry import get_problem
from keras_l2l.rollout import optimizee_step

EVERY = 50


def rms_history(trained, problem, steps, seed=0):
    """`[steps / EVERY, variables]` sqrt(mean v) after steps EVERY, 2 EVERY, ..., and the
    final eval_loss."""
    rule, meta, shapes = trained.rule, trained.meta_tensors(), problem.shapes()
    count = len(shapes)

    @tf.function
    def run(params, seed):
        state = rule.with_horizon(rule.initial_state_for(shapes), steps)

        def body(t, params, state, history):
            _, _, updates, state = optimizee_step(rule, problem, shapes, meta, params, state,
                                                  seed, t)
            # after t + 1 steps, v bias-corrected as the rule reads it
            v = state["moments"][:, 2] / (1.0 - ADAM_DECAYS[2] ** tf.cast(t + 1, tf.float32))
            rms = tf.sqrt(tf.math.unsorted_segment_mean(v, state["tensor_index"], count))
            history = tf.cond((t + 1) % EVERY == 0,
                              lambda: history.write((t + 1) // EVERY - 1, rms),
                              lambda: history)
            return t + 1, params + updates, state, history

        _, params, state, history = tf.while_loop(
            lambda t, *_: t < steps, body,
            (tf.constant(0), params, state, tf.TensorArray(tf.float32, size=steps // EVERY)),
        )
        return history.stack(), problem.eval_loss(flat.unflatten(params, shapes), seed)

    history, final_loss = run(flat.flatten(problem.init_params(seed)),
                              tf.constant(seed, tf.int64))
    return history.numpy(), float(final_loss)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("problems", nargs="+")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--preset", default="general-v6")
    args = parser.parse_args()
    trained = TrainedRule.from_preset(args.preset)
    at = [s for s in (args.steps // 5, args.steps // 2, args.steps) if s >= EVERY]
    print("sqrt(mean v) over its peak so far, per variable: median [min, max] over variables")
    print("\n| problem | final eval_loss | " + " | ".join(f"step {s:,}" for s in at) + " |")
    print("|---|---|" + "---|" * len(at))
    for name in args.problems:
        history, final_loss = rms_history(trained, get_problem(name, default_data_dir()),
                                          args.steps)
        ratios = history / np.maximum.accumulate(history, axis=0)
        cells = [ratios[s // EVERY - 1] for s in at]
        print(f"| {name} | {final_loss:.3g} | " + " | ".join(
            f"{np.median(r):.2g} [{r.min():.2g}, {r.max():.2g}]" for r in cells) + " |",
            flush=True)


if __name__ == "__main__":
    main()
