"""The TF `CoordinatewiseLSTM` rule against an independent NumPy reference."""

import math

import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import LearnedOptimizer, preprocessing
from keras_l2l.rules import CoordinatewiseLSTM

try:  # `tests` importable as a package (rootdir on sys.path) or as a plain dir
    from tests import numpy_reference as ref
except ImportError:  # pragma: no cover
    import numpy_reference as ref

ATOL = 1e-5


def mixed_grads(rng, n, p=10.0):
    """Gradients over many magnitudes, hitting both branches of the paper preprocessing.

    Includes an exact zero, tiny values (|g| < e^-p, both signs) and large ones.
    """
    tiny = math.exp(-p)
    fixed = np.array(
        [0.0, -0.0, tiny * 0.3, -tiny * 0.7, 1e-9, -1e-12, 3.0, -250.0, 1.0, -1.0]
    )
    magnitudes = 10.0 ** rng.uniform(-8, 3, size=n - fixed.size)
    signs = rng.choice([-1.0, 1.0], size=n - fixed.size)
    return np.concatenate([fixed, magnitudes * signs]).astype(np.float32)


def random_meta(rule, rng, scale=0.7):
    """Random (non-default) meta-parameters so the test does not rely on the init."""
    return {
        name: (rng.normal(size=shape) * scale).astype(np.float32)
        for name, shape in rule.meta_param_shapes().items()
    }


def to_tf(d):
    return {k: tf.constant(v, tf.float32) for k, v in d.items()}


# --------------------------------------------------------------------------
# The reference itself, on hand-computed values.
# --------------------------------------------------------------------------


def test_reference_preprocessing_hand_values():
    p = 10.0
    got = ref.preprocess([0.0, 1.0, -math.exp(-5.0), 2 * math.exp(-12.0)], "log_sign", p)
    expected = [[-1.0, 0.0], [0.0, 1.0], [-0.5, -1.0], [-1.0, 2 * math.exp(-2.0)]]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    got = ref.preprocess([0.0, 1.0, -1.0, 1e-3, -0.01, -0.005], "clamped_log_sign", 5.0)
    expected = [
        [-1.0, 0.0],
        [math.log(1.0 + ref.FLOAT32_EPS) / 5.0, 1.0],
        [math.log(1.0 + ref.FLOAT32_EPS) / 5.0, -1.0],
        [-1.0, 1e-3 * math.exp(5.0)],  # log(1e-3)/5 < -1 is clamped
        [math.log(0.01 + ref.FLOAT32_EPS) / 5.0, -1.0],  # e^5 * -0.01 clipped
        [-1.0, -0.005 * math.exp(5.0)],
    ]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_reference_lstm_hand_values():
    # One unit, one layer, "none" preprocessing: every gate is checkable by hand.
    units = 1
    kernel = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -0.5, 0.25, -0.25]])  # rows: x, h
    bias = np.array([0.1, 0.2, 0.3, 0.4])
    meta = {
        "lstm0_kernel": kernel,
        "lstm0_bias": bias,
        "output_kernel": np.array([[2.0]]),
        "output_bias": np.array([0.5]),
    }
    state = {"lstm0_h": np.array([[0.3]]), "lstm0_c": np.array([[-0.2]])}
    g = 0.7
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    zi, zf, zg, zo = (g * kernel[0] + 0.3 * kernel[1] + bias).tolist()
    c = sig(zf) * -0.2 + sig(zi) * math.tanh(zg)
    h = sig(zo) * math.tanh(c)
    upd, new = ref.lstm_rule(meta, [g], state, units, 1, "none", 10.0, 0.1)
    np.testing.assert_allclose(upd, [0.1 * (2.0 * h + 0.5)], atol=1e-12)
    np.testing.assert_allclose(new["lstm0_c"], [[c]], atol=1e-12)
    np.testing.assert_allclose(new["lstm0_h"], [[h]], atol=1e-12)


# --------------------------------------------------------------------------
# TF preprocessing and rule vs the reference.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,p", [("log_sign", 10.0), ("log_sign", 4.0), ("clamped_log_sign", 5.0), ("none", 10.0)]
)
def test_preprocessing_matches_reference(kind, p):
    grads = mixed_grads(np.random.default_rng(1), 60, p)
    got = preprocessing.preprocess(tf.constant(grads), kind, p).numpy()
    expected = ref.preprocess(grads, kind, p)
    assert got.shape == (60, preprocessing.num_features(kind))
    np.testing.assert_allclose(got, expected, atol=ATOL)
    assert np.all(np.isfinite(got))


def test_mixed_grads_hit_both_paper_branches():
    grads = mixed_grads(np.random.default_rng(0), 40)
    small = np.abs(grads) < math.exp(-10.0)
    assert small.sum() >= 4 and (~small).sum() >= 4
    assert np.any(grads == 0.0)
    feats = preprocessing.preprocess(tf.constant(grads), "log_sign", 10.0).numpy()
    np.testing.assert_array_equal(feats[small, 0], -1.0)
    np.testing.assert_allclose(feats[small, 1], grads[small] * math.exp(10.0), atol=1e-6)
    np.testing.assert_array_equal(feats[~small, 1], np.sign(grads[~small]))


@pytest.mark.parametrize(
    "kind,units,num_layers,p,output_scale",
    [
        ("log_sign", 20, 2, 10.0, 0.1),  # the defaults
        ("log_sign", 7, 3, 10.0, 0.3),
        ("clamped_log_sign", 7, 3, 5.0, 0.1),
        ("none", 4, 1, 10.0, 1.0),
        ("clamped_log_sign", 1, 2, 5.0, 0.05),
    ],
)
def test_rule_matches_reference_over_steps(kind, units, num_layers, p, output_scale):
    rng = np.random.default_rng(units * 10 + num_layers)
    rule = CoordinatewiseLSTM(
        units=units,
        num_layers=num_layers,
        preprocessing=kind,
        preprocessing_p=p,
        output_scale=output_scale,
    )
    n = 37
    meta = random_meta(rule, rng)
    tf_state = rule.init_state(n)
    np_state = ref.init_state(n, units, num_layers)
    for step in range(5):
        grads = mixed_grads(rng, n, p)
        if kind == "none":
            grads = grads.clip(-5, 5)  # raw gradients: keep the LSTM out of saturation
        upd, tf_state = rule(to_tf(meta), tf.constant(grads), tf_state)
        ref_upd, np_state = ref.lstm_rule(
            meta, grads, np_state, units, num_layers, kind, p, output_scale
        )
        assert upd.shape == (n,) and upd.dtype == tf.float32
        np.testing.assert_allclose(upd.numpy(), ref_upd, atol=ATOL, err_msg=f"step {step}")
        assert set(tf_state) == set(np_state)
        for key in np_state:
            np.testing.assert_allclose(
                tf_state[key].numpy(), np_state[key], atol=ATOL, err_msg=f"{key} step {step}"
            )
    # The state really evolved (the comparison above is not between zeros).
    assert np.abs(np_state["lstm0_c"]).max() > 1e-2


@pytest.mark.parametrize("jit", [False, True])  # as Keras runs it without and with XLA
def test_rule_matches_reference_with_default_init(jit):
    rule = CoordinatewiseLSTM(units=6, num_layers=2)
    meta = {k: v.numpy() for k, v in rule.init_meta_params(seed=3).items()}
    grads = mixed_grads(np.random.default_rng(3), 20)
    call = tf.function(rule, jit_compile=True) if jit else rule
    upd, _ = call(to_tf(meta), tf.constant(grads), rule.init_state(20))
    ref_upd, _ = ref.lstm_rule(meta, grads, ref.init_state(20, 6, 2), 6, 2)
    np.testing.assert_allclose(upd.numpy(), ref_upd, atol=ATOL)


def test_rule_is_coordinatewise():
    """Each coordinate's update depends only on its own gradient and state."""
    rule = CoordinatewiseLSTM(units=5, num_layers=2)
    meta = rule.init_meta_params(seed=1)
    grads = mixed_grads(np.random.default_rng(5), 30)
    full, _ = rule(meta, tf.constant(grads), rule.init_state(30))
    part, _ = rule(meta, tf.constant(grads[7:12]), rule.init_state(5))
    np.testing.assert_allclose(full.numpy()[7:12], part.numpy(), atol=1e-6)


# --------------------------------------------------------------------------
# Initialisation.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind,units,num_layers", [("log_sign", 20, 2), ("none", 7, 3)])
def test_init_meta_params_shapes_and_biases(kind, units, num_layers):
    rule = CoordinatewiseLSTM(units=units, num_layers=num_layers, preprocessing=kind)
    params = rule.init_meta_params(seed=0)
    k = preprocessing.num_features(kind)
    expected_names = [f"lstm{i}_{w}" for i in range(num_layers) for w in ("kernel", "bias")]
    assert list(params) == expected_names + ["output_kernel", "output_bias"]
    for i in range(num_layers):
        inputs = k if i == 0 else units
        kernel = params[f"lstm{i}_kernel"].numpy()
        bias = params[f"lstm{i}_bias"].numpy()
        assert kernel.shape == (inputs + units, 4 * units)
        assert kernel.dtype == np.float32
        assert np.all(kernel != 0) and np.abs(kernel).max() <= math.sqrt(
            6.0 / (inputs + 5 * units)
        )
        assert bias.shape == (4 * units,)
        np.testing.assert_array_equal(bias[:units], 0.0)  # input gate
        np.testing.assert_array_equal(bias[units : 2 * units], 1.0)  # forget gate
        np.testing.assert_array_equal(bias[2 * units :], 0.0)  # candidate, output
    assert params["output_kernel"].shape == (units, 1)
    np.testing.assert_array_equal(params["output_bias"].numpy(), [0.0])


def test_init_meta_params_deterministic_in_seed():
    rule = CoordinatewiseLSTM(units=7, num_layers=3)
    a, b, c = (rule.init_meta_params(seed=s) for s in (11, 11, 12))
    for name in a:
        np.testing.assert_array_equal(a[name].numpy(), b[name].numpy())
    for name in ("lstm0_kernel", "lstm2_kernel", "output_kernel"):
        assert not np.allclose(a[name].numpy(), c[name].numpy())
    # A fresh rule object gives the same values too.
    again = CoordinatewiseLSTM(units=7, num_layers=3).init_meta_params(seed=11)
    for name in a:
        np.testing.assert_array_equal(a[name].numpy(), again[name].numpy())


@pytest.mark.parametrize("n,units,num_layers", [(1, 20, 2), (13, 7, 3), (0, 3, 1)])
def test_init_state_shapes(n, units, num_layers):
    state = CoordinatewiseLSTM(units=units, num_layers=num_layers).init_state(n)
    expected = {f"lstm{i}_{s}" for i in range(num_layers) for s in ("h", "c")}
    assert set(state) == expected
    for value in state.values():
        assert tuple(value.shape) == (n, units)
        assert value.dtype == tf.float32
        np.testing.assert_array_equal(value.numpy(), 0.0)


# --------------------------------------------------------------------------
# Differentiability.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["log_sign", "clamped_log_sign", "none"])
def test_gradient_wrt_meta_params_finite_at_zero_gradient(kind):
    rule = CoordinatewiseLSTM(units=4, num_layers=2, preprocessing=kind)
    meta = rule.init_meta_params(seed=0)
    grads = tf.constant([0.0, -0.0, 0.0, 1e-30, 0.5], tf.float32)
    state = rule.init_state(5)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(meta)
        tape.watch(grads)
        upd, new_state = rule(meta, grads, state)
        upd2, _ = rule(meta, grads, new_state)  # through a carried state as well
        loss = tf.reduce_sum(upd**2) + tf.reduce_sum(upd2)
    dmeta = tape.gradient(loss, meta)
    for name, value in dmeta.items():
        assert value is not None, name
        assert np.all(np.isfinite(value.numpy())), name
    # Some meta-gradient is non-zero (the check above is not vacuous).
    assert any(np.abs(v.numpy()).max() > 0 for v in dmeta.values())
    dgrads = tape.gradient(loss, grads)
    assert np.all(np.isfinite(dgrads.numpy()))


# --------------------------------------------------------------------------
# Argument validation.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(units=0), "positive integer"),
        (dict(units=-3), "positive integer"),
        (dict(units=2.5), "positive integer"),
        (dict(num_layers=0), "positive integer"),
        (dict(num_layers=-1), "positive integer"),
        (dict(preprocessing="bogus"), "log_sign"),
        (dict(preprocessing_p=0.0), "> 0"),
    ],
)
def test_invalid_args_raise(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        CoordinatewiseLSTM(**kwargs)
    name = next(iter(kwargs))
    assert name in str(info.value) or "bogus" in str(info.value)
    # The optimizer validates the same way.
    with pytest.raises(ValueError, match=match):
        LearnedOptimizer(**kwargs)


def test_unknown_preprocessing_lists_all_allowed():
    with pytest.raises(ValueError) as info:
        CoordinatewiseLSTM(preprocessing="bogus")
    for allowed in ("log_sign", "clamped_log_sign", "none"):
        assert allowed in str(info.value)
