"""`LearnedOptimizer`: fused rule call, Keras training loops, serialization."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import LearnedOptimizer, flat
from keras_l2l.rules import AdamW, CoordinatewiseLSTM

# The hand-set rule below outputs -SIGN_C * sign(g) (see `sign_sgd_meta`).
SIGN_C = 0.1 * math.tanh(1.0)


# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------


class Scale(keras.layers.Layer):
    """A layer with a single scalar weight (shape `()`)."""

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(), initializer="ones", name="alpha")

    def call(self, x):
        return x * self.alpha


def conv_model():
    """Variables: Conv2D kernel/bias, Dense kernel/bias and a scalar."""
    return keras.Sequential(
        [
            keras.Input((5, 5, 2)),
            keras.layers.Conv2D(3, 3, kernel_initializer=keras.initializers.GlorotUniform(1)),
            keras.layers.Flatten(),
            keras.layers.Dense(4, kernel_initializer=keras.initializers.GlorotUniform(2)),
            Scale(),
        ]
    )


def mlp(inputs=4, hidden=8, seed=0):
    init = keras.initializers.GlorotUniform
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init(seed)),
            keras.layers.Dense(1, kernel_initializer=init(seed + 1)),
        ]
    )


def linear(inputs=4):
    return keras.Sequential(
        [keras.Input((inputs,)), keras.layers.Dense(1, kernel_initializer="zeros")]
    )


def regression_data(n=64, inputs=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, inputs)).astype(np.float32)
    w = rng.uniform(-2, 2, size=(inputs, 1)).astype(np.float32)
    y = (x @ w + 0.3).astype(np.float32)
    return x, y


def random_grads(variables, seed=0):
    """Gradients with magnitudes from 1e-7 to 10, both signs, one per variable."""
    rng = np.random.default_rng(seed)
    grads = []
    for v in variables:
        shape = tuple(v.shape)
        mag = 10.0 ** rng.uniform(-7, 1, size=shape)
        sign = rng.choice([-1.0, 1.0], size=shape)
        grads.append(tf.constant(mag * sign, tf.float32))
    return grads


def values(variables):
    return [np.array(v.numpy()) for v in variables]


def sign_sgd_meta():
    """Meta-weights making a 1-layer, 1-unit "log_sign" LSTM output ~ -c * sign(g).

    Inputs are `[log|g|/p, sign g, h]`. Input gate and output gate are open
    (bias 20), the forget gate closed (bias -20), the candidate is
    `tanh(20 * sign g) = sign g`, so `c = sign g`, `h = tanh(1) sign g` and the
    update is `0.1 * (-h) = -0.1 tanh(1) sign g`.
    """
    kernel = np.zeros((3, 4), np.float32)
    kernel[1, 2] = 20.0
    return {
        "lstm0_kernel": kernel,
        "lstm0_bias": np.array([20.0, -20.0, 0.0, 20.0], np.float32),
        "output_kernel": np.array([[-1.0]], np.float32),
        "output_bias": np.zeros((1,), np.float32),
    }


def sign_optimizer(learning_rate=1.0):
    opt = LearnedOptimizer(
        learning_rate=learning_rate, units=1, num_layers=1, preprocessing="log_sign"
    )
    opt.set_meta_weights(sign_sgd_meta())
    return opt


def mse(model, x, y):
    return float(np.mean((model.predict(x, verbose=0) - y) ** 2))


def assert_same_optimizer_state(a, b):
    assert len(a.variables) == len(b.variables)
    for va, vb in zip(a.variables, b.variables):
        assert va.path == vb.path
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=va.path)


class CountingRule:
    """Proxy around a rule counting its calls."""

    def __init__(self, rule):
        self.rule = rule
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.rule(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.rule, name)


# --------------------------------------------------------------------------
# One fused rule call per step, and exactly the rule's update.
# --------------------------------------------------------------------------


def test_apply_equals_fused_rule_call_over_two_steps():
    model = conv_model()
    variables = model.trainable_variables
    assert len(variables) == 5
    assert sorted(tuple(v.shape) for v in variables) == sorted(
        [(3, 3, 2, 3), (3,), (27, 4), (4,), ()]
    )
    opt = LearnedOptimizer(learning_rate=0.7, units=5, num_layers=2, seed=3)
    shapes = [tuple(v.shape) for v in variables]
    meta = {k: tf.constant(v) for k, v in opt.get_meta_weights().items()}
    rule = CoordinatewiseLSTM(units=5, num_layers=2)
    state = rule.init_state(sum(flat.sizes_of(shapes)))

    for step in range(2):
        grads = random_grads(variables, seed=step)
        before = values(variables)
        if step == 0:
            opt.apply(grads, variables)
        else:  # the order of (grad, variable) pairs must not matter
            opt.apply(grads[::-1], variables[::-1])
        flat_grads = tf.concat([tf.reshape(g, [-1]) for g in grads], 0)
        updates, state = rule(meta, flat_grads, state)
        expected = np.split(updates.numpy(), np.cumsum(flat.sizes_of(shapes))[:-1])
        for v, b, e, shape in zip(variables, before, expected, shapes):
            change = v.numpy() - b
            assert change.shape == shape
            np.testing.assert_allclose(change, 0.7 * e.reshape(shape), atol=1e-6)
            assert np.abs(change).max() > 0
        got_state = opt.rule_state()
        assert set(got_state) == set(state)
        for key in state:
            np.testing.assert_allclose(got_state[key].numpy(), state[key].numpy(), atol=1e-6)
        assert int(opt.iterations.numpy()) == step + 1


def test_rule_needing_params_gets_the_variables_as_keras_adamw_does():
    """AdamW's decoupled decay reads the variables: the fused step passes them, flattened."""
    ours_model, keras_model = conv_model(), conv_model()
    ours = LearnedOptimizer(rule=AdamW(0.05))
    reference = keras.optimizers.AdamW(0.05)
    for step in range(3):
        grads = random_grads(ours_model.trainable_variables, seed=step)
        ours.apply(grads, ours_model.trainable_variables)
        reference.apply(grads, keras_model.trainable_variables)
    for got, want in zip(ours_model.trainable_variables, keras_model.trainable_variables):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)


def test_one_rule_call_per_step_eager_and_fit():
    model = conv_model()
    variables = model.trainable_variables
    assert len(variables) >= 4
    opt = LearnedOptimizer(units=3, num_layers=2)
    opt.rule = CountingRule(opt.rule)
    for step in range(3):
        opt.apply(random_grads(variables, seed=step), variables)
        assert opt.rule.calls == step + 1

    # In a traced step the graph holds one rule call however many variables.
    opt2 = LearnedOptimizer(units=3, num_layers=2)
    opt2.rule = CountingRule(opt2.rule)
    opt2.build(variables)
    step_fn = tf.function(lambda grads: opt2.apply(grads, variables))
    grads = random_grads(variables)
    step_fn(grads)
    step_fn(grads)
    assert opt2.rule.calls == 1
    assert int(opt2.iterations.numpy()) == 2

    # And through `fit` (eager so that every step runs the Python code).
    x = np.random.default_rng(0).normal(size=(32, 5, 5, 2)).astype(np.float32)
    y = np.zeros((32, 4), np.float32)
    model2 = conv_model()
    opt3 = LearnedOptimizer(units=3, num_layers=1)
    opt3.rule = CountingRule(opt3.rule)
    model2.compile(optimizer=opt3, loss="mse", run_eagerly=True)
    model2.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert opt3.rule.calls == 4


def test_variables_without_gradient_keep_value_and_state():
    model = mlp(inputs=3, hidden=4)
    variables = model.trainable_variables
    opt = LearnedOptimizer(units=4, num_layers=2, seed=1)
    shapes = [tuple(v.shape) for v in variables]
    sizes = flat.sizes_of(shapes)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    opt.apply(random_grads(variables, seed=0), variables)
    state1 = {k: v.numpy() for k, v in opt.rule_state().items()}
    before = values(variables)

    grads = random_grads(variables, seed=1)
    missing = {1, 2}  # first bias and second kernel get no gradient
    given = [None if i in missing else g for i, g in enumerate(grads)]
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply(given, variables)

    filled = [tf.zeros(s) if i in missing else g for i, (g, s) in enumerate(zip(grads, shapes))]
    meta = {k: tf.constant(v) for k, v in opt.get_meta_weights().items()}
    updates, new_state = CoordinatewiseLSTM(units=4, num_layers=2)(
        meta, flat.flatten(filled), {k: tf.constant(v) for k, v in state1.items()}
    )
    state2 = {k: v.numpy() for k, v in opt.rule_state().items()}
    for i, (v, b) in enumerate(zip(variables, before)):
        lo, hi = offsets[i], offsets[i + 1]
        if i in missing:
            np.testing.assert_array_equal(v.numpy(), b)
            for key in state2:
                np.testing.assert_array_equal(state2[key][lo:hi], state1[key][lo:hi])
        else:
            np.testing.assert_allclose(
                (v.numpy() - b).reshape(-1), updates.numpy()[lo:hi], atol=1e-6
            )
            for key in state2:
                np.testing.assert_allclose(
                    state2[key][lo:hi], new_state[key].numpy()[lo:hi], atol=1e-6
                )
                assert not np.allclose(state2[key][lo:hi], state1[key][lo:hi])
    assert int(opt.iterations.numpy()) == 2


# --------------------------------------------------------------------------
# Training in Keras loops.
# --------------------------------------------------------------------------


def test_hand_set_rule_is_sign_descent():
    opt = sign_optimizer()
    rule = opt.rule
    meta = {k: tf.constant(v) for k, v in opt.get_meta_weights().items()}
    rng = np.random.default_rng(0)
    state = rule.init_state(12)
    for _ in range(3):
        mags = 10.0 ** rng.uniform(-4, 3, size=12)  # all >= e^-10: the sign branch
        grads = (mags * rng.choice([-1.0, 1.0], size=12)).astype(np.float32)
        updates, state = rule(meta, tf.constant(grads), state)
        np.testing.assert_allclose(updates.numpy(), -SIGN_C * np.sign(grads), atol=1e-6)
    zero, _ = rule(meta, tf.zeros([3]), rule.init_state(3))
    np.testing.assert_allclose(zero.numpy(), 0.0, atol=1e-6)


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_fit_reduces_loss(mode):
    x, y = regression_data()
    model = linear()
    opt = sign_optimizer(learning_rate=1.0)
    model.compile(
        optimizer=opt,
        loss="mse",
        run_eagerly=(mode == "eager"),
        jit_compile=(mode == "xla"),
    )
    assert model.jit_compile == (mode == "xla")
    initial = mse(model, x, y)
    history = model.fit(x, y, batch_size=16, epochs=10, verbose=0, shuffle=False)
    final = mse(model, x, y)
    assert np.all(np.isfinite(history.history["loss"]))
    assert final < 0.1 * initial, (initial, final)
    assert int(opt.iterations.numpy()) == 40
    assert int(opt.skipped_steps.numpy()) == 0


def test_default_untrained_rule_trains_without_error():
    x, y = regression_data(n=32)
    model = mlp()
    model.compile(optimizer=LearnedOptimizer(seed=0), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_learning_rate_scales_update():
    variables_a = mlp(seed=3).trainable_variables
    variables_b = mlp(seed=3).trainable_variables
    for a, b in zip(variables_a, variables_b):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    full = LearnedOptimizer(learning_rate=1.0, units=4, seed=2)
    half = LearnedOptimizer(learning_rate=0.5, units=4, seed=2)
    grads = random_grads(variables_a, seed=5)
    before = values(variables_a)
    full.apply(grads, variables_a)
    half.apply(grads, variables_b)
    for a, b, v0 in zip(variables_a, variables_b, before):
        delta_full, delta_half = a.numpy() - v0, b.numpy() - v0
        assert np.abs(delta_full).max() > 1e-4
        np.testing.assert_allclose(delta_half, 0.5 * delta_full, atol=1e-7)
    # The learning rate scales the update, not the LSTM state.
    for key, value in full.rule_state().items():
        np.testing.assert_array_equal(value.numpy(), half.rule_state()[key].numpy())


def test_learning_rate_schedule_in_fit():
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=1.0, decay_steps=1, decay_rate=0.5
    )
    opt = sign_optimizer(learning_rate=schedule)
    x, y = regression_data(n=32)
    model = linear()
    model.compile(optimizer=opt, loss="mse")
    snapshots = [model.get_weights()]
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: snapshots.append(model.get_weights())
    )
    model.fit(x, y, batch_size=32, epochs=4, verbose=0, shuffle=False, callbacks=[record])
    assert len(snapshots) == 5
    for step in range(4):
        for before, after in zip(snapshots[step], snapshots[step + 1]):
            # Sign descent: every coordinate moves by exactly c * lr_step.
            np.testing.assert_allclose(
                np.abs(after - before), SIGN_C * 0.5**step, rtol=1e-4
            )
    # The schedule survives a config round trip.
    restored = LearnedOptimizer.from_config(opt.get_config())
    assert isinstance(restored._learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert restored._learning_rate.get_config() == schedule.get_config()


# --------------------------------------------------------------------------
# Serialization.
# --------------------------------------------------------------------------


def custom_optimizer():
    return LearnedOptimizer(
        learning_rate=0.3,
        units=5,
        num_layers=3,
        preprocessing="clamped_log_sign",
        preprocessing_p=5.0,
        output_scale=0.05,
        seed=7,
        nan_policy="raise",
        state_dtype="float32",
    )


def test_config_round_trip():
    opt = custom_optimizer()
    config = opt.get_config()
    assert config["rule"] == {
        "class_name": "CoordinatewiseLSTM",
        "config": dict(
            units=5, num_layers=3, preprocessing="clamped_log_sign", preprocessing_p=5.0,
            output_scale=0.05,
        ),
    }
    for key, value in dict(seed=7, nan_policy="raise", state_dtype="float32").items():
        assert config[key] == value, key
    assert config["learning_rate"] == pytest.approx(0.3)
    restored = LearnedOptimizer.from_config(config)
    assert restored.get_config() == config
    a, b = opt.get_meta_weights(), restored.get_meta_weights()
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_keras_serialize_deserialize():
    opt = custom_optimizer()
    serialized = keras.optimizers.serialize(opt)
    restored = keras.optimizers.deserialize(serialized)
    assert isinstance(restored, LearnedOptimizer)
    assert restored.get_config() == opt.get_config()
    assert "keras_l2l" in str(serialized)


def test_compile_with_registered_name():
    model = linear()
    model.compile(optimizer="keras_l2l>LearnedOptimizer", loss="mse")
    assert isinstance(model.optimizer, LearnedOptimizer)
    assert keras.saving.get_registered_object("keras_l2l>LearnedOptimizer") is LearnedOptimizer


def test_compile_with_misspelled_name_raises():
    model = linear()
    with pytest.raises(ValueError, match="LearnedOptimzer"):
        model.compile(optimizer="keras_l2l>LearnedOptimzer", loss="mse")


def perturbed_meta(opt, seed=0):
    """Meta-weights away from the seed's initial values (so loading must restore them)."""
    rng = np.random.default_rng(seed)
    return {
        k: (v * 1.3 + rng.normal(scale=0.05, size=v.shape)).astype(np.float32)
        for k, v in opt.get_meta_weights().items()
    }


def trained_model():
    """An MLP trained 3 steps by a LearnedOptimizer with non-default meta-weights."""
    x, y = regression_data(n=48)
    model = mlp(seed=4)
    opt = LearnedOptimizer(learning_rate=0.5, units=6, num_layers=2, seed=4)
    opt.set_meta_weights(perturbed_meta(opt))
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    assert int(opt.iterations.numpy()) == 3
    return model, x, y


def continue_and_compare(model_a, model_b, x, y):
    for model in (model_a, model_b):
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, atol=1e-6)
    for va, vb in zip(model_a.optimizer.variables, model_b.optimizer.variables):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-6, err_msg=va.path)
    assert int(model_a.optimizer.iterations.numpy()) == 9


def test_save_load_keras_file_restores_and_continues(tmp_path):
    model, x, y = trained_model()
    opt = model.optimizer
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    lopt = loaded.optimizer
    assert isinstance(lopt, LearnedOptimizer)
    assert lopt.get_config() == opt.get_config()
    # Everything restored exactly: meta-weights (not the seed's), state, counters.
    seed_meta = {k: v.numpy() for k, v in opt.rule.init_meta_params(4).items()}
    for key, value in opt.get_meta_weights().items():
        np.testing.assert_array_equal(lopt.get_meta_weights()[key], value)
        assert not np.allclose(value, seed_meta[key])
    state = opt.rule_state()
    assert set(lopt.rule_state()) == set(state)
    for key, value in state.items():
        assert np.abs(value.numpy()).max() > 0
        np.testing.assert_array_equal(lopt.rule_state()[key].numpy(), value.numpy())
    assert int(lopt.iterations.numpy()) == int(opt.iterations.numpy()) == 3
    assert_same_optimizer_state(opt, lopt)
    continue_and_compare(model, loaded, x, y)


def test_tf_checkpoint_round_trip(tmp_path):
    model, x, y = trained_model()
    opt = model.optimizer
    path = tf.train.Checkpoint(optimizer=opt, model=model).save(str(tmp_path / "ckpt"))

    fresh = mlp(seed=40)  # different initial weights
    fresh_opt = LearnedOptimizer(learning_rate=0.5, units=6, num_layers=2, seed=99)
    fresh.compile(optimizer=fresh_opt, loss="mse")
    status = tf.train.Checkpoint(optimizer=fresh_opt, model=fresh).restore(path)
    # The state variables are created after `restore` (deferred restoration).
    fresh_opt.build(fresh.trainable_variables)
    status.assert_existing_objects_matched()
    for wa, wb in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert int(fresh_opt.iterations.numpy()) == 3
    assert_same_optimizer_state(opt, fresh_opt)
    continue_and_compare(model, fresh, x, y)


def test_meta_weights_round_trip_and_validation():
    opt = LearnedOptimizer(units=3, num_layers=2, seed=0)
    original = opt.get_meta_weights()
    assert list(original) == [
        "lstm0_kernel", "lstm0_bias", "lstm1_kernel", "lstm1_bias",
        "output_kernel", "output_bias",
    ]
    new = {k: v + 0.25 for k, v in original.items()}
    opt.set_meta_weights(new)
    got = opt.get_meta_weights()
    for key in new:
        np.testing.assert_array_equal(got[key], new[key].astype(np.float32))
    # get_meta_weights returns copies.
    got["output_bias"][0] = 123.0
    assert opt.get_meta_weights()["output_bias"][0] != 123.0

    # Invalid sets whose valid entries differ from the current values, so a
    # partial assignment before the error would be visible.
    other = {k: v - 0.5 for k, v in original.items()}
    bad_shape = dict(other, lstm1_kernel=np.zeros((3, 12), np.float32))
    bad_name = {("out_bias" if k == "output_bias" else k): v for k, v in other.items()}
    missing = {k: v for k, v in other.items() if k != "lstm0_bias"}
    extra = dict(other, extra=np.zeros(2))
    nan_last = dict(other, output_bias=np.array([np.nan], np.float32))
    inf_first = dict(other, lstm0_kernel=np.full_like(other["lstm0_kernel"], np.inf))
    for bad in (bad_shape, bad_name, missing, extra, nan_last, inf_first):
        with pytest.raises(ValueError):
            opt.set_meta_weights(bad)
        # A rejected call leaves every meta-weight untouched.
        for key, value in opt.get_meta_weights().items():
            np.testing.assert_array_equal(value, new[key].astype(np.float32), err_msg=key)
    with pytest.raises(ValueError, match="lstm1_kernel"):
        opt.set_meta_weights(bad_shape)
    with pytest.raises(ValueError, match="NaN"):
        opt.set_meta_weights(nan_last)


# --------------------------------------------------------------------------
# Several models and optimizers in one process; seeds.
# --------------------------------------------------------------------------


def test_two_models_trained_alternately_do_not_interfere():
    xa, ya = regression_data(n=32, inputs=4, seed=1)
    xb, yb = regression_data(n=32, inputs=2, seed=2)

    def make_a():
        model = mlp(inputs=4, hidden=5, seed=10)
        model.compile(optimizer=LearnedOptimizer(units=4, num_layers=2, seed=1), loss="mse")
        return model

    def make_b():
        model = mlp(inputs=2, hidden=3, seed=20)
        opt = LearnedOptimizer(
            learning_rate=0.5, units=3, num_layers=1, preprocessing="clamped_log_sign",
            preprocessing_p=5.0, seed=2,
        )
        model.compile(optimizer=opt, loss="mse")
        return model

    fit = dict(batch_size=16, verbose=0, shuffle=False)
    alone_a = make_a()
    alone_a.fit(xa, ya, epochs=3, **fit)
    alone_b = make_b()
    alone_b.fit(xb, yb, epochs=3, **fit)

    a, b = make_a(), make_b()
    for _ in range(3):
        a.fit(xa, ya, epochs=1, **fit)
        b.fit(xb, yb, epochs=1, **fit)
    for together, alone in ((a, alone_a), (b, alone_b)):
        for w1, w2 in zip(together.get_weights(), alone.get_weights()):
            np.testing.assert_allclose(w1, w2, atol=1e-6)
        for v1, v2 in zip(together.optimizer.variables, alone.optimizer.variables):
            np.testing.assert_allclose(v1.numpy(), v2.numpy(), atol=1e-6, err_msg=v1.path)
        assert int(together.optimizer.iterations.numpy()) == 6


def test_seed_determines_untrained_meta_weights():
    a, b, c = (LearnedOptimizer(units=5, seed=s) for s in (5, 5, 6))
    wa, wb, wc = a.get_meta_weights(), b.get_meta_weights(), c.get_meta_weights()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key])
    assert any(not np.allclose(wa[k], wc[k]) for k in wa)
    assert not np.allclose(wa["lstm0_kernel"], wc["lstm0_kernel"])
    # The values are the rule's own deterministic initialisation.
    init = a.rule.init_meta_params(5)
    for key in wa:
        np.testing.assert_array_equal(wa[key], init[key].numpy())


def test_a_saved_model_keeps_its_weights_when_the_default_moves_on(tmp_path, monkeypatch):
    """A `.keras` file holds the meta-weights it trained with: when `general` comes to stand
    for another version (an `ALIASES` change), a saved model resumes with its own."""
    from keras_l2l import presets

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=LearnedOptimizer(), loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1, verbose=0)
    trained_with = {k: np.array(v) for k, v in model.optimizer.get_meta_weights().items()}
    model.save(tmp_path / "m.keras")
    monkeypatch.setitem(presets.ALIASES, presets.DEFAULT_PRESET, "general-v1")
    now_default = LearnedOptimizer().get_meta_weights()
    assert any(not np.array_equal(now_default[k], v) for k, v in trained_with.items())
    loaded = keras.saving.load_model(tmp_path / "m.keras").optimizer.get_meta_weights()
    for key, value in trained_with.items():
        np.testing.assert_array_equal(loaded[key], value)


def test_no_arguments_give_the_trained_default_preset():
    from keras_l2l import presets

    default = LearnedOptimizer()
    shipped = LearnedOptimizer.from_preset(presets.DEFAULT_PRESET)
    for key, value in shipped.get_meta_weights().items():
        np.testing.assert_array_equal(default.get_meta_weights()[key], value)
    assert default.get_config()["preset"] == presets.DEFAULT_PRESET
    untrained = LearnedOptimizer(rule=shipped.rule)  # the same rule, untrained
    assert any(
        not np.allclose(untrained.get_meta_weights()[k], v)
        for k, v in shipped.get_meta_weights().items()
    )
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="keras_l2l>LearnedOptimizer", loss="mse")
    assert model.optimizer.get_config()["preset"] == presets.DEFAULT_PRESET
