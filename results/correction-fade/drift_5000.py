"""Why `general-v6` loses long runs of near-interpolating tasks: its direction correction.

    python results/correction-fade/drift_5000.py [PROBLEM] [STEPS]
    # default: suite/mnist-patch-transformer, 5,000 steps, seed 0

A diagnosis on a held-out task, not a selection (the options are chosen on training
problems: sweep_training.py). Prints d(0, context), the correction the per-parameter MLP
adds where a coordinate's normalised gradient and momenta are zero, for a few contexts;
then the run's minibatch loss (mean over windows of steps/20 ending at each tenth) and
its final eval_loss for `general-v6` as shipped, with d zeroed, and with
`correction_centered=True` (d(x) - d(0)). Markdown on stdout.
"""

import sys

import numpy as np
import tensorflow as tf

from keras_l2l import TrainedRule
from keras_l2l.datasets import default_data_dir
from keras_l2l.evaluation import runs
from keras_l2l.problems.registry import get_problem
from keras_l2l.rollout import make_rollout


def zero_input_correction(trained, context):
    """The per-parameter MLP's d at zero inputs and this variable `context`."""
    meta = trained.meta_params
    x = np.concatenate([np.zeros(3), context])
    hidden = np.tanh(x @ meta["param_hidden_kernel"] + meta["param_hidden_bias"])
    return float(hidden @ meta["param_out_kernel"][:, 0] + meta["param_out_bias"][0])


def without_correction(trained):
    meta = {key: np.array(value) for key, value in trained.meta_params.items()}
    meta["param_out_kernel"][:, 0] = 0.0
    meta["param_out_bias"][0] = 0.0
    return {key: tf.constant(value) for key, value in meta.items()}


def main(name="suite/mnist-patch-transformer", steps=5000, seed=0):
    shipped = TrainedRule.from_preset("general-v6")
    centered = shipped.reconfigured(correction_centered=True)
    units = shipped.rule.context_units
    print("d(0, context) of general-v6: " + ", ".join(
        f"{c:+.1f} in every entry: {zero_input_correction(shipped, np.full(units, c)):+.3f}"
        for c in (-0.5, 0.0, 0.5)) + "\n")
    problem = get_problem(name, default_data_dir())
    final_loss, _ = runs.compile_scores(problem)
    start = runs.initial_params(problem, [seed])[seed]
    variants = {"as shipped": (shipped.rule, shipped.meta_tensors()),
                "d = 0": (shipped.rule, without_correction(shipped)),
                "correction_centered": (centered.rule, centered.meta_tensors())}
    ends = [steps * k // 10 for k in range(1, 11)]
    print(f"{name}, seed {seed}: minibatch loss, mean over the {steps // 20} steps before each step shown\n")
    print("| variant | " + " | ".join(f"{end}" for end in ends) + " | final eval_loss |")
    print("|---|" + "---|" * (len(ends) + 1))
    for label, (rule, meta) in variants.items():
        losses, final, _ = runs.run_seed(make_rollout(rule, problem), meta, start, seed, steps)
        windows = [losses[end - steps // 20 : end].mean() for end in ends]
        print(f"| {label} | " + " | ".join(f"{w:.3g}" for w in windows)
              + f" | {float(final_loss(final, runs.seed_tensor(seed))):.4g} |", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:2], *[int(a) for a in sys.argv[2:3]])
