"""Baseline rules against the `keras.optimizers` they reproduce, step by step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import flat
from keras_l2l.problems import Problem
from keras_l2l.rollout import make_rollout, optimizee_step
from keras_l2l.rules import baselines
from keras_l2l.rules.baselines import BASELINES

SHAPES = [(3, 4), (4,), (2, 2, 2)]

CASES = [
    ("sgd", lambda lr: keras.optimizers.SGD(lr)),
    ("momentum", lambda lr: keras.optimizers.SGD(lr, momentum=0.9)),
    ("nag", lambda lr: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)),
    ("rmsprop", lambda lr: keras.optimizers.RMSprop(lr)),
    ("adam", lambda lr: keras.optimizers.Adam(lr)),
    ("adamw", lambda lr: keras.optimizers.AdamW(lr)),
]


@pytest.mark.parametrize("name, make_keras", CASES, ids=[c[0] for c in CASES])
def test_matches_keras_step_by_step(name, make_keras):
    rng = np.random.default_rng(0)
    lr = 0.05
    start = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    variables = [keras.Variable(v) for v in start]
    optimizer = make_keras(lr)
    rule = BASELINES[name](learning_rate=lr)
    meta = rule.init_meta_params()
    params = flat.flatten(start)
    state = rule.init_state(int(params.shape[0]))
    for _ in range(10):
        # Gradients over several magnitudes, some tiny so epsilon placement matters.
        grads = [
            (rng.normal(size=s) * 10.0 ** rng.uniform(-6, 1, size=s)).astype(np.float32)
            for s in SHAPES
        ]
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables))
        extra = (params,) if rule.needs_params else ()
        updates, state = rule(meta, flat.flatten(grads), state, *extra)
        params = params + updates
        np.testing.assert_allclose(
            params.numpy(), flat.flatten(variables).numpy(), rtol=0, atol=1e-6
        )


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_config_round_trip_and_meta_params(name):
    rule = BASELINES[name](learning_rate=0.125)
    again = type(rule).from_config(rule.get_config())
    assert again.get_config() == rule.get_config()
    meta = rule.init_meta_params(seed=3)
    assert list(meta) == ["learning_rate"]
    assert meta["learning_rate"].dtype == tf.float32
    assert float(meta["learning_rate"]) == 0.125


def test_keras_defaults():
    assert baselines.SGD().learning_rate == 0.01
    assert baselines.Momentum().momentum == 0.9
    assert baselines.RMSprop().get_config() == {
        "learning_rate": 0.001, "rho": 0.9, "epsilon": 1e-7
    }
    assert baselines.Adam().get_config() == {
        "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7
    }
    assert baselines.AdamW().weight_decay == keras.optimizers.AdamW().weight_decay == 0.004
    assert [name for name, rule in BASELINES.items() if rule.needs_params] == ["adamw"]


class _Flat(Problem):
    """A zero loss: Adam's step is 0, so AdamW's update is its decay alone."""

    def init_params(self, seed):
        return [tf.constant([1.0, -2.0, 4.0])]

    def batch(self, seed, step):
        return tf.constant(0.0)

    def loss(self, params, batch):
        return 0.0 * tf.reduce_sum(params[0])


def test_rollouts_pass_the_stored_params_to_rules_that_need_them():
    problem, rule, lr = _Flat(), baselines.AdamW(), 0.25
    meta = {"learning_rate": tf.constant(lr)}
    start = flat.flatten(problem.init_params(0))
    _, final = make_rollout(rule, problem)(meta, start, tf.constant(0), tf.constant(5))
    np.testing.assert_allclose(final.numpy(), start.numpy() * (1 - lr * 0.004) ** 5, rtol=1e-6)
    # With a scale (meta-training's random scaling), the rule sees the stored vector.
    _, _, updates, _ = optimizee_step(
        rule, problem, problem.shapes(), meta, start, rule.init_state(3), 0, 0,
        scale=tf.constant([2.0, 3.0, 4.0]),
    )
    np.testing.assert_allclose(updates.numpy(), -lr * 0.004 * start.numpy(), rtol=1e-6)
