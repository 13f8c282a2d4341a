"""`LSTMGAC` and `NTMBFGS`: NumPy references, meta-gradients, equivariance, Keras and meta use."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from meta_gradient_check import assert_meta_gradient_matches, quadratic_meta_loss

from keras_l2l import LearnedOptimizer, MetaTrainer, TrainedRule
from keras_l2l.problems import Quadratic
from keras_l2l.rules import (RULES, CoordinatewiseLSTM, LSTMGAC, NTMBFGS, deserialize_rule,
                             serialize_rule)

try:
    from tests import numpy_gac_ntm as ref
    from tests.test_rule import mixed_grads
except ImportError:  # pragma: no cover
    import numpy_gac_ntm as ref
    from test_rule import mixed_grads

GAC_CASES = [
    dict(units=6, num_layers=2, global_units=2),
    dict(units=5, num_layers=3, global_units=1, preprocessing="clamped_log_sign",
         preprocessing_p=5.0, output_scale=0.3),
    dict(units=3, num_layers=1, global_units=3),  # every cell global
    dict(units=4, num_layers=2, global_units=0),  # none: CoordinatewiseLSTM
]


def random_meta(rule, seed=0, scale=0.7):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(scale=scale, size=s) for k, s in rule.meta_param_shapes().items()}


def as_tf(d, dtype=tf.float32):
    return {k: tf.cast(tf.constant(v), dtype) for k, v in d.items()}


def make(cls, config):
    return cls(**config)


# --------------------------------------------------------------------------
# (1) Against the NumPy references.
# --------------------------------------------------------------------------


def _compare(rule, state, expected_state, cfg, step):
    expected = ref.to_rule_state(expected_state, cfg["units"], cfg["global_units"])
    assert set(state) == set(expected)
    for key, want in expected.items():
        np.testing.assert_allclose(state[key].numpy(), want, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{key} step {step}")


@pytest.mark.parametrize("config", GAC_CASES)
def test_lstm_gac_matches_reference_over_steps(config):
    rule = LSTMGAC(**config)
    cfg = rule.get_config()
    meta = random_meta(rule, seed=cfg["units"])
    n, rng = 23, np.random.default_rng(1)
    state = rule.init_state(n)
    expected_state = ref.init_state(n, cfg["units"], cfg["num_layers"])
    for step in range(4):
        grads = mixed_grads(rng, n, cfg["preprocessing_p"])
        updates, state = rule(as_tf(meta), tf.constant(grads), state)
        expected, expected_state = ref.gac_rule(
            meta, grads, expected_state, cfg["units"], cfg["num_layers"], cfg["global_units"],
            cfg["preprocessing"], cfg["preprocessing_p"], cfg["output_scale"])
        assert updates.shape == (n,) and updates.dtype == tf.float32
        np.testing.assert_allclose(updates.numpy(), expected, rtol=1e-5, atol=1e-6)
        _compare(rule, state, expected_state, cfg, step)
    assert np.abs(expected_state["c"][0]).max() > 1e-2


@pytest.mark.parametrize("config", [dict(units=6, num_layers=2, global_units=2, memory_size=3),
                                    dict(units=4, num_layers=1, global_units=0, memory_size=1),
                                    dict(units=5, num_layers=2, global_units=5, memory_size=2,
                                         preprocessing="clamped_log_sign", preprocessing_p=5.0)])
def test_ntm_bfgs_matches_reference_over_steps(config):
    rule = NTMBFGS(**config)
    cfg = rule.get_config()
    meta = random_meta(rule, seed=7)
    n, rng = 19, np.random.default_rng(2)
    state = rule.init_state(n)
    expected_state = ref.init_state(n, cfg["units"], cfg["num_layers"], cfg["memory_size"])
    for step in range(5):  # more steps than memory slots: the oldest writes are dropped
        grads = mixed_grads(rng, n, cfg["preprocessing_p"])
        updates, state = rule(as_tf(meta), tf.constant(grads), state)
        expected, expected_state = ref.ntm_rule(
            meta, grads, expected_state, cfg["units"], cfg["num_layers"], cfg["global_units"],
            cfg["memory_size"], cfg["preprocessing"], cfg["preprocessing_p"],
            cfg["output_scale"])
        np.testing.assert_allclose(updates.numpy(), expected, rtol=1e-5, atol=1e-6)
        _compare(rule, state, expected_state, cfg, step)
    assert np.abs(expected_state["read"]).max() > 1e-3  # the memory is really read


def test_without_global_cells_lstm_gac_is_the_coordinatewise_lstm():
    lstm, gac = CoordinatewiseLSTM(units=5, num_layers=2), LSTMGAC(units=5, global_units=0)
    meta = lstm.init_meta_params(seed=4)
    grads = tf.constant(mixed_grads(np.random.default_rng(4), 17))
    s1, s2 = lstm.init_state(17), gac.init_state(17)
    for _ in range(3):
        (u1, s1), (u2, s2) = lstm(meta, grads, s1), gac(meta, grads, s2)
        np.testing.assert_array_equal(u1.numpy(), u2.numpy())


@pytest.mark.parametrize("cls", [LSTMGAC, NTMBFGS])
def test_coordinates_share_information(cls):
    """Unlike CoordinatewiseLSTM, one coordinate's gradient moves the others' updates."""
    rule = cls(units=6, global_units=2)
    meta = as_tf(random_meta(rule, seed=1, scale=0.5))
    grads = mixed_grads(np.random.default_rng(5), 12)
    other = grads.copy()
    other[0] = 100.0
    a, b = (rule(meta, tf.constant(g), rule.init_state(12))[0].numpy() for g in (grads, other))
    assert np.abs(a[1:] - b[1:]).max() > 1e-6


# --------------------------------------------------------------------------
# (2) Meta-gradients against central finite differences (float64).
# --------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [LSTMGAC(units=4, num_layers=2, global_units=2),
                                  NTMBFGS(units=4, num_layers=2, global_units=2,
                                          memory_size=2, output_scale=0.3)],
                         ids=["LSTMGAC", "NTMBFGS"])
def test_meta_gradient_matches_finite_differences(rule):
    """d(sum of losses over 3 steps of a quadratic)/d(meta), second order, float64."""
    meta0 = random_meta(rule, seed=2, scale=0.5)
    rng = np.random.default_rng(3)
    initial = lambda: {k: tf.cast(v, tf.float64) for k, v in rule.init_state(5).items()}
    grads = assert_meta_gradient_matches(quadratic_meta_loss(rule, initial, 5, rng), meta0, rng)
    assert max(np.abs(g).max() for g in grads.values()) > 1e-4

# --------------------------------------------------------------------------
# (3) Permutation equivariance.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [LSTMGAC(units=6, global_units=2),
                                  NTMBFGS(units=6, global_units=2, memory_size=3)],
                         ids=["LSTMGAC", "NTMBFGS"])
def test_permutation_equivariance(rule):
    n, rng = 29, np.random.default_rng(6)
    meta = as_tf(random_meta(rule, seed=3, scale=0.5))
    perm = rng.permutation(n)
    state = rule.init_state(n)
    for _ in range(2):  # a non-trivial state to permute
        _, state = rule(meta, tf.constant(mixed_grads(rng, n)), state)
    grads = mixed_grads(rng, n)
    permuted = {k: tf.gather(v, perm) if rule.state_kind(k) == "coordinate" else v
                for k, v in state.items()}
    updates, new = rule(meta, tf.constant(grads), state)
    updates_p, new_p = rule(meta, tf.constant(grads[perm]), permuted)
    np.testing.assert_allclose(updates_p.numpy(), updates.numpy()[perm], rtol=1e-5, atol=1e-7)
    for key in new:
        want = new[key].numpy()
        if rule.state_kind(key) == "coordinate":
            want = want[perm]
        np.testing.assert_allclose(new_p[key].numpy(), want, rtol=1e-5, atol=1e-7, err_msg=key)


# --------------------------------------------------------------------------
# Interface: registry, config, state layout.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [LSTMGAC(units=7, num_layers=3, global_units=2,
                                          output_scale=0.2),
                                  NTMBFGS(units=5, global_units=1, memory_size=6,
                                          preprocessing="none")],
                         ids=["LSTMGAC", "NTMBFGS"])
def test_registry_config_and_deterministic_init(rule, tmp_path):
    name = type(rule).__name__
    assert RULES[name] is type(rule)
    spec = serialize_rule(rule)
    again = deserialize_rule(spec)
    assert type(again) is type(rule) and again.get_config() == rule.get_config()
    a, b, c = rule.init_meta_params(5), again.init_meta_params(5), rule.init_meta_params(6)
    assert list(a) == list(rule.meta_param_shapes())
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
        assert tuple(a[k].shape) == rule.meta_param_shapes()[k]
    assert not np.allclose(a["lstm0_kernel"].numpy(), c["lstm0_kernel"].numpy())
    from keras_l2l import cli

    assert name in cli._LEARNED_RULES  # `keras-l2l meta-train --rule NAME`
    trained = TrainedRule(rule, {k: v.numpy() + 0.5 for k, v in a.items()})
    trained.save_to_preset(tmp_path / "preset")
    loaded = TrainedRule.from_preset(str(tmp_path / "preset"))
    assert type(loaded.rule) is type(rule) and loaded.rule.get_config() == rule.get_config()
    for k, v in trained.meta_params.items():
        np.testing.assert_array_equal(loaded.meta_params[k], v)
    optimizer = LearnedOptimizer.from_preset(loaded)
    assert type(optimizer.rule) is type(rule)


@pytest.mark.parametrize("rule,per_coordinate", [(LSTMGAC(), 288), (NTMBFGS(), 324)],
                         ids=["LSTMGAC", "NTMBFGS"])
def test_state_layout_and_bytes_per_coordinate(rule, per_coordinate):
    state = rule.initial_state([30, 0, 7])
    total = 0
    for key, value in state.items():
        kind = rule.state_kind(key)
        assert kind in ("coordinate", "global")
        if kind == "coordinate":
            assert value.shape[0] == 37
            total += 4 * int(np.prod(value.shape[1:]))
        else:
            assert tuple(value.shape) == (rule.global_units,)
    assert total == per_coordinate


@pytest.mark.parametrize("cls", [LSTMGAC, NTMBFGS])
def test_empty_and_single_coordinate(cls):
    rule = cls(units=4, global_units=2)
    meta = rule.init_meta_params(0)
    for n in (0, 1):
        updates, state = rule(meta, tf.ones([n]), rule.init_state(n))
        assert updates.shape == (n,)
        assert all(np.all(np.isfinite(v.numpy())) for v in state.values())


@pytest.mark.parametrize("cls", [LSTMGAC, NTMBFGS])
def test_extreme_gradients_give_finite_bounded_updates(cls):
    """Updates are bounded by the output layer whatever the gradients (h, a, b, q in [-1, 1])."""
    rule = cls(units=5, global_units=2)
    meta = as_tf(random_meta(rule, seed=8, scale=1.0))
    grads = np.array([0.0, -0.0, 1e-38, -1e-30, 1e30, -3e38, 1.0, -1e-8], np.float32)
    kernel, bias = meta["output_kernel"].numpy(), meta["output_bias"].numpy()
    bound = np.abs(kernel[:, 0]).sum() + abs(bias[0])
    if cls is NTMBFGS:
        bound += rule.memory_size  # |r_j| <= sum_k |a_jk| * mean_i |b_ik q_i| <= K
    state = rule.init_state(grads.size)
    for _ in range(6):
        updates, state = rule(meta, tf.constant(grads), state)
        assert np.all(np.isfinite(updates.numpy()))
        assert np.abs(updates.numpy()).max() <= rule.output_scale * bound * (1 + 1e-6)
        assert all(np.all(np.isfinite(v.numpy())) for v in state.values())


@pytest.mark.parametrize("bad", [dict(units=0), dict(global_units=-1), dict(global_units=5),
                                 dict(units=2.5), dict(preprocessing="bogus"),
                                 dict(preprocessing_p=0.0)])
def test_bad_arguments(bad):
    for cls in (LSTMGAC, NTMBFGS):
        with pytest.raises(ValueError):
            cls(**dict(dict(units=4), **bad))
    with pytest.raises(ValueError):
        NTMBFGS(memory_size=0)


# --------------------------------------------------------------------------
# (4) LearnedOptimizer: training, frozen variables, .keras round trip.
# --------------------------------------------------------------------------


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 1))).astype(np.float32)
    return x, y


def _model():
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh"),
                             keras.layers.Dense(1)])


@pytest.mark.parametrize("rule", [LSTMGAC(units=6, global_units=2),
                                  NTMBFGS(units=6, global_units=2, memory_size=2)],
                         ids=["LSTMGAC", "NTMBFGS"])
def test_learned_optimizer_trains_and_round_trips(rule, tmp_path):
    """Untrained rule (init seed 0): the loss stays finite and changes; saving continues exactly."""
    x, y = _data()
    model = _model()
    model.compile(optimizer=LearnedOptimizer(rule=rule), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert np.isfinite(after) and after != before
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.optimizer.get_config()["rule"] == serialize_rule(rule)
    for key, value in model.optimizer.rule_state().items():
        np.testing.assert_array_equal(loaded.optimizer.rule_state()[key].numpy(),
                                      np.asarray(value))
    for m in (model, loaded):
        m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", [LSTMGAC, NTMBFGS])
def test_learned_optimizer_keeps_state_of_variables_without_gradients(cls):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    variables = model.trainable_variables
    opt = LearnedOptimizer(rule=cls(units=4, global_units=2))
    rng = np.random.default_rng(0)
    grads = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in variables]
    opt.apply(grads, variables)
    frozen = [v.numpy() for v in variables]
    state = {k: np.asarray(v) for k, v in opt.rule_state().items()}
    opt.apply(grads[:2], variables[:2])  # the last Dense (5 coordinates) gets no gradient
    after = {k: np.asarray(v) for k, v in opt.rule_state().items()}
    for i in (2, 3):
        np.testing.assert_array_equal(variables[i].numpy(), frozen[i])
    assert not np.array_equal(variables[0].numpy(), frozen[0])
    for key, value in after.items():
        if opt.rule.state_kind(key) == "coordinate":
            np.testing.assert_array_equal(value[-5:], state[key][-5:], err_msg=key)
            assert not np.array_equal(value[:-5], state[key][:-5]), key
        else:  # the averaged outputs are written every step
            assert not np.array_equal(value, state[key]), key


@pytest.mark.parametrize("cls", [LSTMGAC, NTMBFGS])
def test_learned_optimizer_with_bfloat16_state(cls):
    """Per-coordinate state stored in bfloat16; the averaged outputs (global) stay float32."""
    x, y = _data()
    model = _model()
    model.compile(optimizer=LearnedOptimizer(rule=cls(units=4, global_units=2),
                                             state_dtype="bfloat16"), loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    stored = {v.name: v.dtype for v in model.optimizer.variables}
    assert stored["state_lstm0_c"] == "bfloat16" and stored["state_lstm0_hg"] == "float32"
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


# --------------------------------------------------------------------------
# (5) Meta-training on a small quadratic.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [LSTMGAC(units=8, global_units=2),
                                  NTMBFGS(units=8, global_units=2, memory_size=2)],
                         ids=["LSTMGAC", "NTMBFGS"])
def test_meta_training_on_a_quadratic_lowers_the_loss(rule):
    trainer = MetaTrainer(TrainedRule.untrained(rule), Quadratic(dim=3, num_problems=4),
                          horizon=20, unroll=10, validation_every=6, validation_runs=4,
                          meta_optimizer=keras.optimizers.Adam(1e-2), log_loss=True)
    before = trainer.validate()
    trainer.fit(12, verbose=0)
    meta_losses = trainer.history["meta_loss"]
    assert len(meta_losses) == 12 and np.all(np.isfinite(meta_losses))
    # Measured: first 4 epochs 2.51 / 2.28, last 4 1.30 / 1.36 (LSTMGAC / NTMBFGS).
    assert np.mean(meta_losses[-4:]) < 0.8 * np.mean(meta_losses[:4]), meta_losses
    after = float(trainer.best_validation.numpy())
    assert after < before, (before, after)
    trained = trainer.trained_rule()
    assert type(trained.rule) is type(rule)
    assert not np.allclose(trained.meta_params["output_kernel"],
                           rule.init_meta_params(0)["output_kernel"].numpy())


# --------------------------------------------------------------------------
# Other Keras backends: the same rule code in keras.ops.
# --------------------------------------------------------------------------

_BACKEND_SCRIPT = r"""
import sys

import keras
import numpy as np

from keras_l2l import LearnedOptimizer
from keras_l2l.rules import LSTMGAC, NTMBFGS


def results():
    out = {}
    for rule in (LSTMGAC(units=5, global_units=2),
                 NTMBFGS(units=5, global_units=2, memory_size=2)):
        name = type(rule).__name__
        rng = np.random.default_rng(0)
        meta = {k: keras.ops.convert_to_tensor(rng.normal(scale=0.5, size=s).astype("float32"))
                for k, s in rule.meta_param_shapes().items()}
        state = rule.init_state(9)
        for step in range(3):
            grads = (rng.normal(size=9) * 10.0 ** rng.uniform(-6, 1, size=9)).astype("float32")
            updates, state = rule(meta, keras.ops.convert_to_tensor(grads), state)
            out[f"{name}/updates{step}"] = keras.ops.convert_to_numpy(updates)
        for key, value in state.items():
            out[f"{name}/{key}"] = keras.ops.convert_to_numpy(value)
        variables = [keras.Variable(np.ones((3, 2), "float32")),
                     keras.Variable(np.ones(2, "float32"))]
        opt = LearnedOptimizer(rule=rule)
        opt.apply([keras.ops.ones((3, 2)), keras.ops.ones(2)], variables)
        out[f"{name}/opt_first_weight1"] = keras.ops.convert_to_numpy(variables[1])
        opt.apply([keras.ops.ones((3, 2))], variables[:1])  # the second gets no gradient
        for i, v in enumerate(variables):
            out[f"{name}/opt_weight{i}"] = keras.ops.convert_to_numpy(v)
        for key, value in opt.rule_state().items():
            out[f"{name}/opt_state_{key}"] = keras.ops.convert_to_numpy(value)
    return out


if __name__ == "__main__":
    np.savez(sys.argv[1], **results())
"""


def _run_backend(backend, path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, KERAS_BACKEND=backend, CUDA_VISIBLE_DEVICES="")
    subprocess.run([sys.executable, "-c", _BACKEND_SCRIPT, str(path)], env=env, check=True,
                   timeout=300, capture_output=True)
    return dict(np.load(path))


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_same_results_on_other_backends(backend, tmp_path):
    """Rule steps and two `LearnedOptimizer.apply` calls (one with a variable frozen) match TF."""
    pytest.importorskip(backend)
    namespace = {"__name__": "reference"}
    exec(_BACKEND_SCRIPT, namespace)  # this process runs TensorFlow
    expected = namespace["results"]()
    got = _run_backend(backend, tmp_path / f"{backend}.npz")
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    for name in ("LSTMGAC", "NTMBFGS"):
        frozen = got[f"{name}/opt_first_weight1"]  # no gradient at the second step
        np.testing.assert_array_equal(got[f"{name}/opt_weight1"], frozen)
        assert np.abs(frozen - 1.0).max() > 0
