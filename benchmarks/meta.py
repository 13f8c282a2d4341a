"""4. Meta-training throughput: optimizee steps/s of `MetaTrainer` on the MNIST MLP.

Graph and XLA trainers alternate with the forward-only rollout of the same rule,
so that `/ rollout` (the cost of the backward pass) holds on a loaded machine.
"""

import itertools

import tensorflow as tf

from common import data_dir, interleaved, log, median, timed
from keras_l2l import CoordinatewiseLSTM, MetaTrainer, flat
from keras_l2l.problems import MLP
from keras_l2l.rollout import make_rollout


def bench_meta(epochs, horizon=100, unroll=20):
    """Optimizee steps/s of MetaTrainer (graph and XLA) and of the forward-only rollout."""
    problem = MLP("mnist", data_dir=data_dir())
    trainers, warmup = warm_trainers(problem, horizon, unroll)
    rule = trainers[False].rule
    rollout = make_rollout(rule, problem)
    meta = rule.init_meta_params(0)
    params = flat.flatten(problem.init_params(1))
    seed, steps = tf.constant(1, tf.int64), tf.constant(horizon)
    forward = lambda: rollout(meta, params, seed, steps)[0]  # noqa: E731
    warmup["rollout"] = timed(forward)
    epoch_numbers = itertools.count(1)  # one sequence shared by both trainers

    def epoch(trainer):
        return lambda: trainer.train_epoch(next(epoch_numbers))

    log("meta: timing")
    times = interleaved(
        {"graph": epoch(trainers[False]), "xla": epoch(trainers[True]), "rollout": forward},
        epochs,
    )
    rate = {k: horizon / median(v) for k, v in times.items()}
    return {
        "problem": problem.name,
        "coordinates": int(params.shape[0]),
        "horizon": horizon,
        "unroll": unroll,
        "epochs_timed": epochs,
        "xla_over_graph": rate["xla"] / rate["graph"],
        "rows": meta_rows(rate, warmup, trainers, rollout),
    }


def warm_trainers(problem, horizon, unroll):
    """`({jit: trainer}, {jit: seconds})`: one untimed epoch each traces (and compiles)."""
    trainers, warmup = {}, {}
    for jit in (False, True):
        log(f"meta: warm-up epoch, jit_compile={jit}")
        trainer = MetaTrainer(
            CoordinatewiseLSTM(),  # untrained, at init_meta_params(0)
            problem,
            horizon=horizon,
            unroll=unroll,
            validation_every=0,
            jit_compile=jit,
        )
        warmup[jit] = timed(lambda t=trainer: t.train_epoch(0))
        trainers[jit] = trainer
    return trainers, warmup


def meta_rows(rate, warmup, trainers, rollout):
    """One row per mode; `traces` > 1 would mean retracing inside the timed epochs."""
    # MetaTrainer keeps its compiled truncations in a private dict; this reads it.
    tracing = {
        ("xla" if jit else "graph"): sum(
            fn.experimental_get_tracing_count() for fn in t._truncations.values()
        )
        for jit, t in trainers.items()
    }
    rows = [
        {
            "mode": mode,
            "steps_per_s": rate[mode],
            "over_rollout": rate[mode] / rate["rollout"],
            "warmup_s": warmup[jit],
            "traces": tracing[mode],
        }
        for mode, jit in (("graph", False), ("xla", True))
    ]
    rows.append(
        {
            "mode": "rollout (forward only)",
            "steps_per_s": rate["rollout"],
            "over_rollout": 1.0,
            "warmup_s": warmup["rollout"],
            "traces": rollout.experimental_get_tracing_count(),
        }
    )
    return rows
