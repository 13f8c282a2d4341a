"""Baseline rules against the `keras.optimizers` they reproduce, step by step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import flat
from keras_l2l.problems import Problem
from keras_l2l.rollout import make_rollout, optimizee_step
from keras_l2l.rules import baselines
from keras_l2l.rules.anneal import LinearTail
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


def _tail_factor(step, horizon, fraction, after):
    """`linear_tail` in NumPy, for a 1-based step."""
    if horizon <= after:
        return 1.0
    span = max(min(horizon - after, fraction * horizon), 1.0)
    return float(np.clip((horizon - step + 1.0) / span, 0.0, 1.0))


class _TailSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """What a Keras user writes for the tail: Keras calls it with the 0-based iteration."""

    def __init__(self, lr, horizon, fraction, after):
        self.factors = [lr * _tail_factor(t + 1, horizon, fraction, after) for t in range(64)]

    def __call__(self, iteration):
        return tf.gather(tf.constant(self.factors, tf.float32), tf.cast(iteration, tf.int32))


@pytest.mark.parametrize("name, make_keras", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("horizon, fraction, after", [(8, 0.5, 2), (10, 1.0, 0), (5, 0.5, 5)])
def test_linear_tail_matches_keras_with_a_learning_rate_schedule(name, make_keras, horizon,
                                                                 fraction, after):
    """`LinearTail(rule)` in a run of known length is the Keras optimizer with that schedule,
    past the run's end too, where the rate is 0: the parameters stop, unless momentum
    carries them on (as in Keras); a run of at most `after` steps is not annealed."""
    rng = np.random.default_rng(1)
    lr = 0.05
    start = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    variables = [keras.Variable(v) for v in start]
    optimizer = make_keras(_TailSchedule(lr, horizon, fraction, after))
    rule = LinearTail(BASELINES[name](learning_rate=lr), fraction, after)
    meta = rule.init_meta_params()
    params = flat.flatten(start)
    state = rule.with_horizon(rule.init_state(int(params.shape[0])), horizon)
    for step in range(horizon + 2):
        grads = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables))
        before = params
        extra = (params,) if rule.needs_params else ()
        updates, state = rule(meta, flat.flatten(grads), state, *extra)
        params = params + updates
        np.testing.assert_allclose(
            params.numpy(), flat.flatten(variables).numpy(), rtol=0, atol=1e-6
        )
        if step >= horizon > after and name not in ("momentum", "nag"):
            np.testing.assert_array_equal(params.numpy(), before.numpy())


def test_linear_tail_of_unknown_length_is_the_rule_and_bad_fractions_are_refused():
    rule = LinearTail(baselines.Adam(0.01), 0.5)
    plain = baselines.Adam(0.01)
    grads = tf.constant([0.3, -2.0, 1e-4])
    state, plain_state = rule.init_state(3), plain.init_state(3)  # horizon 0: unknown
    for _ in range(3):
        updates, state = rule(rule.init_meta_params(), grads, state)
        expected, plain_state = plain(plain.init_meta_params(), grads, plain_state)
        np.testing.assert_array_equal(updates.numpy(), expected.numpy())
    assert rule.state_kind("tail_step") == rule.state_kind("step") == "global"
    assert rule.state_kind("m") == "coordinate"
    for fraction in (None, 0.0, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            LinearTail(baselines.Adam(), fraction)
