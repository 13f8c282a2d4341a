"""Running one seed through a compiled rollout, and scoring its final parameters.

Seeds, horizons and learning rates go in as tensors, so each compiled
function traces once per (rule, problem), however many runs it serves.
"""

import os
import time

import numpy as np
import tensorflow as tf

from keras_l2l import flat
from keras_l2l.rollout import make_rollout


def initial_params(problem, seeds):
    """`{seed: flat initial parameters}`, computed once and shared by every optimizer."""
    return {seed: flat.flatten(problem.init_params(seed)) for seed in seeds}


def compile_scores(problem):
    """Compiled `(final_loss, test_metric)` of flat parameters and a seed.

    `final_loss` is `problem.eval_loss`; `test_metric` is None when the
    problem has none.
    """
    shapes = problem.shapes()

    @tf.function
    def final_loss(params, seed):
        return problem.eval_loss(flat.unflatten(params, shapes), seed)

    if problem.test_metric_name is None:
        return final_loss, None

    @tf.function
    def test_metric(params, seed):
        return problem.test_metric(flat.unflatten(params, shapes), seed)

    return final_loss, test_metric


def run_seed(run, meta_params, params0, seed, steps):
    """`(losses[steps] as numpy, final params, wall-clock seconds)` of one rollout."""
    start = time.perf_counter()
    losses, final = run(meta_params, params0, seed_tensor(seed), tf.constant(steps, tf.int32))
    losses = losses.numpy()  # waits for the whole loop
    return losses.astype(np.float64), final, time.perf_counter() - start


def final_losses(rule, meta_params, problem, seeds, steps):
    """Final eval_loss of `rule` run `steps` steps from each seed, as `keras-l2l evaluate`
    scores its runs (a diverged run: inf); for screening rule variants without baselines."""
    run, (final_loss, _) = make_rollout(rule, problem), compile_scores(problem)
    starts = initial_params(problem, seeds)
    return np.array([
        finite_or_inf(final_loss(run_seed(run, meta_params, starts[seed], seed, steps)[1],
                                 seed_tensor(seed)))
        for seed in seeds
    ])


def seed_tensor(seed):
    return tf.constant(seed, tf.int64)


def learning_rate_params(learning_rate, key="learning_rate"):
    """The meta-parameters of a baseline rule at `learning_rate` (under `key`: a learned
    rule's step multiplier is `tuning.ScaledSteps.KEY`)."""
    return {key: tf.constant(learning_rate, tf.float32)}


def finite_or_inf(value):
    """A diverged run (NaN or inf) scores +inf, so it never wins a comparison."""
    value = float(value)
    return value if np.isfinite(value) else np.inf


def thread_settings():
    """`{"intra_op", "inter_op", "cpu_count"}`: TF's CPU thread counts (0: its default, about
    one per core) from `tf.config.threading` or else $TF_NUM_INTRAOP_THREADS /
    $TF_NUM_INTEROP_THREADS. They set the float summation order, so a rerun with other
    counts differs in the last digits, and by percents where a run is chaotic (Adam at an
    aggressive tuned rate: up to 13% per seed on the demo's MNIST MLP)."""
    threading = tf.config.threading
    return {
        "intra_op": threading.get_intra_op_parallelism_threads()
        or int(os.environ.get("TF_NUM_INTRAOP_THREADS", 0)),
        "inter_op": threading.get_inter_op_parallelism_threads()
        or int(os.environ.get("TF_NUM_INTEROP_THREADS", 0)),
        "cpu_count": os.cpu_count(),
    }
