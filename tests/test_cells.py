"""`CoordinatewiseLSTM(cell=...)` and the "adam" preprocessing: NumPy references,
meta-gradients against finite differences, memorylessness, configs."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from meta_gradient_check import assert_meta_gradient_matches, quadratic_meta_loss

from keras_l2l import LearnedOptimizer, TrainedRule, preprocessing
from keras_l2l.rules import CoordinatewiseLSTM, deserialize_rule, serialize_rule

try:
    from tests import numpy_reference as ref
    from tests.test_rule import mixed_grads
except ImportError:  # pragma: no cover
    import numpy_reference as ref
    from test_rule import mixed_grads

CASES = [
    dict(cell="gru", units=6, num_layers=2),
    dict(cell="gru", units=3, num_layers=1, preprocessing="adam", output_scale=0.3),
    dict(cell="mlp", units=5, num_layers=3, preprocessing="clamped_log_sign", preprocessing_p=5.0),
    dict(cell="mlp", units=4, num_layers=2, preprocessing="adam"),
    dict(cell="lstm", units=4, num_layers=2, preprocessing="adam"),
]


def random_meta(rule, seed=0, scale=0.7):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(scale=scale, size=s) for k, s in rule.meta_param_shapes().items()}


def as_tf(d, dtype=tf.float32):
    return {k: tf.cast(tf.constant(v), dtype) for k, v in d.items()}


@pytest.mark.parametrize("config", CASES, ids=lambda c: f"{c['cell']}-{c.get('preprocessing')}")
def test_rule_matches_numpy_reference_over_steps(config):
    rule = CoordinatewiseLSTM(**config)
    full = {"cell": "lstm", **rule.get_config()}
    n, rng = 29, np.random.default_rng(1)
    meta = random_meta(rule, seed=2)
    state = rule.init_state(n)
    expected_state = ref.init_state(n, full["units"], full["num_layers"], full["cell"],
                                    full["preprocessing"])
    assert set(state) == set(expected_state)
    for step in range(5):
        grads = mixed_grads(rng, n, full["preprocessing_p"]) * rng.uniform(0.1, 10)
        updates, state = rule(as_tf(meta), tf.constant(grads), state)
        expected, expected_state = ref.lstm_rule(
            meta, grads, expected_state, full["units"], full["num_layers"],
            full["preprocessing"], full["preprocessing_p"], full["output_scale"], full["cell"],
        )
        np.testing.assert_allclose(updates.numpy(), expected, atol=1e-5, err_msg=f"step {step}")
        for key, want in expected_state.items():
            np.testing.assert_allclose(state[key].numpy(), want, rtol=1e-4, atol=1e-5,
                                       err_msg=f"{key}, step {step}")
    assert np.abs(expected).max() > 1e-3  # not a comparison of zeros


def test_adam_features_are_scale_invariant_and_need_state():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=11).astype(np.float32) for _ in range(3)]
    outputs = []
    for scale in (1.0, 1e-4):
        state = preprocessing.init_state("adam", 11)
        for g in grads:
            features, state = preprocessing.preprocess_step(tf.constant(g * scale), "adam",
                                                            state=state)
        outputs.append(features.numpy())
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-3)
    np.testing.assert_allclose(state["adam_step"].numpy(), 3.0)
    with pytest.raises(ValueError, match="preprocess_step"):
        preprocessing.preprocess(tf.constant(grads[0]), "adam")


@pytest.mark.parametrize("config", [dict(cell="gru", units=3, num_layers=2),
                                    dict(cell="mlp", units=3, num_layers=2, preprocessing="adam"),
                                    dict(cell="lstm", units=3, num_layers=1, preprocessing="adam")],
                         ids=["gru", "mlp-adam", "lstm-adam"])
def test_meta_gradient_matches_finite_differences(config):
    """d(sum of losses over 3 steps of a quadratic)/d(meta), second order, float64."""
    rule = CoordinatewiseLSTM(output_scale=0.3, **config)
    meta0 = random_meta(rule, seed=2, scale=0.5)
    rng = np.random.default_rng(3)
    initial = lambda: {k: tf.cast(v, tf.float64) for k, v in rule.init_state(5).items()}
    grads = assert_meta_gradient_matches(quadratic_meta_loss(rule, initial, 5, rng), meta0, rng)
    assert max(np.abs(g).max() for g in grads.values()) > 1e-4

def test_mlp_cell_is_memoryless_and_gru_is_not():
    grads = tf.constant(mixed_grads(np.random.default_rng(4), 12))
    for cell, memoryless in (("mlp", True), ("gru", False)):
        rule = CoordinatewiseLSTM(cell=cell, units=5)
        meta = as_tf(random_meta(rule))
        first, state = rule(meta, grads, rule.init_state(12))
        second, _ = rule(meta, grads, state)
        assert np.allclose(first.numpy(), second.numpy()) == memoryless, cell
    assert CoordinatewiseLSTM(cell="mlp").init_state(7) == {}


def test_adam_preprocessing_is_coordinatewise():
    rule = CoordinatewiseLSTM(units=4, preprocessing="adam")
    meta = rule.init_meta_params(seed=1)
    rng = np.random.default_rng(5)
    full, part = rule.init_state(20), rule.init_state(6)
    for _ in range(3):
        grads = rng.normal(size=20).astype(np.float32)
        a, full = rule(meta, tf.constant(grads), full)
        b, part = rule(meta, tf.constant(grads[4:10]), part)
    np.testing.assert_allclose(a.numpy()[4:10], b.numpy(), atol=1e-6)


def test_configs_round_trip_and_old_configs_load_as_lstm():
    for config in CASES:
        rule = CoordinatewiseLSTM(**config)
        again = deserialize_rule(serialize_rule(rule))
        assert again.get_config() == rule.get_config()
        assert again.meta_param_shapes() == rule.meta_param_shapes()
    old = {"units": 20, "num_layers": 2, "preprocessing": "log_sign", "preprocessing_p": 10.0,
           "output_scale": 0.1}  # a config written before `cell` existed
    rule = deserialize_rule({"class_name": "CoordinatewiseLSTM", "config": old})
    assert rule.cell == "lstm" and rule.get_config() == old  # written as before, too
    assert list(rule.meta_param_shapes()) == [
        "lstm0_kernel", "lstm0_bias", "lstm1_kernel", "lstm1_bias", "output_kernel", "output_bias"]
    preset = TrainedRule.from_preset("quadratic")
    assert preset.rule.cell == "lstm"
    with pytest.raises(ValueError, match="Unknown cell 'rnn'.*lstm"):
        CoordinatewiseLSTM(cell="rnn")


def test_learned_optimizer_with_gru_and_adam_features_trains_and_round_trips():
    rule = CoordinatewiseLSTM(cell="gru", units=4, preprocessing="adam", output_scale=0.01)
    optimizer = LearnedOptimizer(rule=rule)
    restored = LearnedOptimizer.from_config(optimizer.get_config())
    assert restored.rule.get_config() == rule.get_config()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, x.sum(1, keepdims=True), epochs=2, verbose=0)
    assert not np.allclose(before[0], model.get_weights()[0])
    assert np.all(np.isfinite(model.get_weights()[0]))
