"""`HierarchicalLSTM`: NumPy reference, Adam at initialization, meta-gradients, Keras use."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from meta_gradient_check import assert_meta_gradient_matches, quadratic_meta_loss

import numpy_hierarchical as ref
import keras_l2l
from keras_l2l import LearnedOptimizer, MetaTrainer, TrainedRule, flat
from keras_l2l.problems import Quadratic
from keras_l2l.rules import HierarchicalLSTM

SIZES = [6, 3, 0, 1, 10]  # includes an empty and a scalar variable


def random_meta(rule, seed=0, scale=0.5):
    """Meta-parameters with non-zero output layers, so every path of the rule matters."""
    rng = np.random.default_rng(seed)
    return {k: rng.normal(scale=scale, size=s) for k, s in rule.meta_param_shapes().items()}


def tf_state(state, dtype):
    return {k: tf.cast(v, dtype) if v.dtype.is_floating else v for k, v in state.items()}


@pytest.mark.parametrize(
    "horizon, gate, rms_gate, anneal, jit, adapt",
    [(None, False, None, None, False, None), (0, False, None, None, False, None),
     (3, False, None, None, False, None), (40, False, None, None, False, None),
     (None, True, None, None, False, None), (7, True, None, None, False, None),
     (None, False, 0.7, None, False, None), (None, True, 0.7, None, False, None),
     (4, False, None, 0.75, False, None), (5, False, None, 1.0, False, None),
     (0, False, None, 0.5, False, None), (5, False, None, (1.0, 2), False, None),
     (2, False, None, (0.5, 2), False, None), (None, False, None, None, True, None),
     (7, True, 0.7, None, True, None), (5, True, 0.7, (1.0, 2), True, None),
     (None, False, None, None, False, 0.3), (None, False, None, None, False, 1.5),
     (5, True, 0.7, (1.0, 2), True, 0.3), (None, False, None, None, False, (1.5, 1.0)),
     (None, False, None, None, True, (0.8, 0.5))],
)  # horizon None: without horizon features (with `anneal`: a run of unknown length);
# jit: the call XLA-compiled, as Keras runs it; adapt: `step_adaptation` (1.5 reaches its
# clip), or (it, its floor)
def test_matches_the_numpy_reference_over_several_steps(horizon, gate, rms_gate, anneal, jit, adapt):
    features = horizon is not None and anneal is None  # anneal's cases test it on its own
    anneal, after = anneal if isinstance(anneal, tuple) else (anneal, 0)  # (fraction, after)
    adapt, floor = adapt if isinstance(adapt, tuple) else (adapt, None)
    rule = HierarchicalLSTM(tensor_units=5, context_units=3, hidden_units=4, base_learning_rate=0.01,
                            horizon_features=features, direction_gate=gate,
                            correction_gate_rms=rms_gate, anneal_fraction=anneal,
                            anneal_after=after, step_adaptation=adapt,
                            step_adaptation_floor=floor)
    meta = random_meta(rule)
    meta_tf = {k: tf.constant(v, tf.float32) for k, v in meta.items()}
    state = rule.initial_state(SIZES)
    expected_state = ref.init_state(SIZES, 5, horizon, step_adaptation=adapt is not None)
    if horizon is not None:
        state = rule.with_horizon(state, horizon)
    rng = np.random.default_rng(1)
    call = tf.function(rule, jit_compile=True) if jit else rule
    for step in range(4):
        grads = rng.normal(size=sum(SIZES)) * 10.0 ** rng.uniform(-4, 1, size=sum(SIZES))
        updates, state = call(meta_tf, tf.constant(grads, tf.float32), state)
        expected, expected_state = ref.hierarchical_rule(
            meta, grads, expected_state, SIZES, 5, 0.01, rms_gate, anneal, features, after, adapt,
            floor)
        np.testing.assert_allclose(updates.numpy(), expected, rtol=2e-4, atol=1e-7)
        assert np.abs(expected).max() > 1e-3
        moments = np.stack([expected_state[k] for k in ("m_fast", "m_slow", "v")], 1)
        pairs = [(state["moments"], moments), (state["tensor_h"], expected_state["h"])]
        if adapt is not None:
            pairs.append((state["tensor_log_scale"], expected_state["log_scale"]))
        for got, want in pairs:
            np.testing.assert_allclose(got.numpy(), want, rtol=2e-4, atol=1e-6,
                                       err_msg=f"step {step}")
        assert float(state["step"]) == step + 1


@pytest.mark.parametrize("gate", [False, True])
def test_horizon_features_start_from_the_rule_without_them(gate):
    """`reconfigured(horizon_features=True)` (and `direction_gate=True`) acts exactly as before,
    whatever the horizon, until the new weights are trained; then the horizon changes the steps."""
    rule = HierarchicalLSTM(tensor_units=5, context_units=3, hidden_units=4, base_learning_rate=0.01)
    before = TrainedRule(rule, random_meta(rule))
    after = before.reconfigured(horizon_features=True, direction_gate=gate)
    assert after.rule.horizon_features and after.rule_config()["config"]["horizon_features"]
    assert after.rule.direction_gate == gate == ("direction_gate_kernel" in after.meta_params)
    rng = np.random.default_rng(2)
    grads = [tf.constant(rng.normal(size=sum(SIZES)), tf.float32) for _ in range(3)]

    def run(trained, horizon=None):
        state = trained.rule.initial_state(SIZES)
        state = state if horizon is None else trained.rule.with_horizon(state, horizon)
        updates = []
        for g in grads:
            update, state = trained.rule(trained.meta_tensors(), g, state)
            updates.append(update.numpy())
        return np.concatenate(updates)

    reference = run(before)
    for horizon in (None, 5, 1000):
        np.testing.assert_allclose(run(after, horizon), reference, rtol=1e-6, atol=1e-9)
    changed = after.replace({**after.meta_params, "tensor_lstm_kernel": random_meta(after.rule)[
        "tensor_lstm_kernel"]})
    assert np.abs(run(changed, 5) - run(changed, 1000)).max() > 1e-4


def test_training_length_reaches_the_rule_in_fit():
    """`TrainingLength` sets the horizon to epochs x steps; a second `fit` counts from its start."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    optimizer = LearnedOptimizer(rule=HierarchicalLSTM(tensor_units=4, horizon_features=True))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    callback = keras_l2l.callbacks.TrainingLength()
    model.fit(x, y, batch_size=10, epochs=3, verbose=0, callbacks=[callback])
    assert float(optimizer.rule_state()["horizon"]) == 12
    model.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[callback])
    assert float(optimizer.rule_state()["horizon"]) == 12 + 8
    assert float(optimizer.rule_state()["step"]) == 20
    assert LearnedOptimizer.from_config(optimizer.get_config()).total_steps == 8
    with pytest.raises(ValueError, match="positive integer"):
        optimizer.set_total_steps(0)
    with pytest.raises(TypeError, match="compiled with Adam"):
        adam_model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        adam_model.compile(optimizer="adam", loss="mse")
        adam_model.fit(x, y, epochs=1, verbose=0, callbacks=[callback])


def test_untrained_rule_takes_adams_steps_in_keras():
    """Zero output layers: `LearnedOptimizer` with the untrained rule trains like Keras' Adam."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1))).astype(np.float32)
    weights = []
    for optimizer in (LearnedOptimizer(rule=HierarchicalLSTM(base_learning_rate=0.01)),
                      keras.optimizers.Adam(0.01, epsilon=1e-8)):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    moved = max(np.abs(a).max() for a in weights[0])
    assert moved > 0
    for learned, adam in zip(*weights):
        np.testing.assert_allclose(learned, adam, rtol=1e-4, atol=1e-5)


def test_narrow_matmul_in_xla_has_the_matmuls_values_and_gradients():
    """The broadcast-and-sum product used inside XLA clusters (`backend_ops.narrow_matmul`)."""
    from keras_l2l.rules import backend_ops

    rng = np.random.default_rng(4)
    x, kernel = (tf.constant(rng.normal(size=s), tf.float32) for s in ([50, 7], [7, 8]))

    def value_and_grads(product):
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = product(x, kernel)
            loss = tf.reduce_sum(tf.sin(y))
        return [y, *tape.gradient(loss, [x, kernel])]

    traced = []
    spy = lambda a, b: traced.append(backend_ops.in_xla_context()) or backend_ops.narrow_matmul(a, b)
    got = tf.function(lambda: value_and_grads(spy), jit_compile=True)()
    want = value_and_grads(tf.matmul)
    assert traced == [True]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-5)


def test_second_order_meta_gradient_matches_finite_differences():
    """d(sum of losses over 3 steps on a quadratic)/d(meta), float64, vs central differences."""
    rule = HierarchicalLSTM(tensor_units=3, context_units=2, hidden_units=3, base_learning_rate=0.05)
    meta0 = random_meta(rule, seed=2, scale=0.3)
    sizes = [4, 2]
    rng = np.random.default_rng(3)
    initial = lambda: tf_state(rule.initial_state(sizes), tf.float64)
    assert_meta_gradient_matches(quadratic_meta_loss(rule, initial, 6, rng), meta0, rng)


def test_second_order_meta_gradient_is_finite_where_a_coordinate_gets_no_gradient():
    """A coordinate the loss ignores (a conv bias before batch norm) has v = 0 throughout;
    d sqrt(v) / dv is infinite there, and the exact meta-gradient must still be finite and
    match central differences."""
    rule = HierarchicalLSTM(tensor_units=3, context_units=2, hidden_units=3, base_learning_rate=0.05)
    meta0 = random_meta(rule, seed=2, scale=0.3)
    rng = np.random.default_rng(4)
    w = rng.normal(size=(4, 4))
    w[:, -1] = 0.0  # the last coordinate never gets a gradient
    initial = lambda: tf_state(rule.initial_state([3, 1]), tf.float64)
    meta_loss = quadratic_meta_loss(rule, initial, 4, rng, w=w)

    grads = assert_meta_gradient_matches(meta_loss, meta0, rng)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


def test_per_parameter_state_is_at_most_24_bytes():
    state = HierarchicalLSTM().initial_state([1000, 24])
    rule = HierarchicalLSTM()
    per_coordinate = sum(
        v.dtype.size * int(np.prod(v.shape[1:]))
        for k, v in state.items() if rule.state_kind(k) == "coordinate"
    )
    assert per_coordinate == 16  # three float32 moments and an int32 variable index
    assert state["moments"].shape == (1024, 3)
    assert per_coordinate <= 24


def test_keras_optimizer_keeps_per_variable_state_of_frozen_variables(tmp_path):
    """A variable without a gradient keeps its value, moments and per-tensor LSTM state."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    variables = model.trainable_variables
    opt = LearnedOptimizer(rule=HierarchicalLSTM(tensor_units=4), state_dtype="bfloat16")
    opt.set_meta_weights(random_meta(opt.rule, seed=5, scale=0.3))
    rng = np.random.default_rng(0)
    grads = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in variables]
    opt.apply(grads, variables)
    frozen = [v.numpy() for v in variables]
    state = opt.rule_state()
    opt.apply(grads[:2], variables[:2])  # the last Dense gets no gradient
    after = opt.rule_state()
    assert np.array_equal(variables[2].numpy(), frozen[2])
    assert not np.array_equal(variables[0].numpy(), frozen[0])
    np.testing.assert_array_equal(after["tensor_h"][2:], state["tensor_h"][2:])
    assert not np.array_equal(after["tensor_h"][:2], state["tensor_h"][:2])
    assert float(after["step"]) == 2.0
    stored = {v.name: v.dtype for v in opt.variables}
    assert stored["state_moments"] == "bfloat16" and stored["state_tensor_h"] == "float32"
    assert stored["state_tensor_index"] == "int32"


def test_saved_model_continues_exactly(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = np.sin(x).sum(axis=1, keepdims=True)
    rule = HierarchicalLSTM(tensor_units=4)
    trained = TrainedRule(rule, random_meta(rule, seed=4, scale=0.2))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=LearnedOptimizer.from_preset(trained), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.optimizer.get_config()["rule"]["class_name"] == "HierarchicalLSTM"
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_meta_training_lowers_held_out_loss():
    problem = Quadratic(num_problems=16)
    start = TrainedRule.untrained(HierarchicalLSTM(base_learning_rate=1e-3))
    trainer = MetaTrainer(start, problem, horizon=20, unroll=10, validation_every=10,
                          validation_runs=4, meta_optimizer=keras.optimizers.Adam(3e-2),
                          log_loss=True)
    before = trainer.validate()
    trainer.fit(40, verbose=0)
    after = float(trainer.best_validation.numpy())
    assert after < 0.7 * before, (before, after)
    changed = trainer.trained_rule().meta_params["tensor_out_kernel"]
    assert np.abs(changed).max() > 0


@pytest.mark.parametrize("bad", [dict(tensor_units=0), dict(hidden_units=2.5),
                                 dict(base_learning_rate=0.0), dict(correction_gate_rms=0.0),
                                 dict(anneal_fraction=0.0), dict(anneal_fraction=1.5),
                                 dict(anneal_after=10), dict(anneal_fraction=0.5, anneal_after=-1),
                                 dict(step_adaptation=0.0), dict(step_adaptation=-0.1),
                                 dict(step_adaptation_floor=1.0),
                                 dict(step_adaptation=0.1, step_adaptation_floor=1.5),
                                 dict(step_adaptation=0.1, step_adaptation_floor=0.1),
                                 dict(correction_fade_after=-1), dict(correction_fade_after=2.5)])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        HierarchicalLSTM(**bad)


def test_flat_layout_matches_the_variables():
    """`tensor_index` maps each coordinate of the flat vector to its variable."""
    shapes = [(2, 3), (3,), (), (0, 4)]
    index = HierarchicalLSTM().initial_state(flat.sizes_of(shapes))["tensor_index"].numpy()
    np.testing.assert_array_equal(index, [0] * 6 + [1] * 3 + [2])


def test_keras_step_writes_only_the_state_the_compiled_rule_changed(monkeypatch):
    """The XLA-compiled call hands back copies of what it passes through; the layout
    constants (`tensor_index`, `tensor_size`) are not written back every step."""
    variables = [keras.Variable(np.ones((3, 2), "float32")), keras.Variable(np.ones(4, "float32"))]
    optimizer = LearnedOptimizer(rule=HierarchicalLSTM())
    optimizer.build(variables)
    written = []
    for key, variable in optimizer._state_variables.items():
        monkeypatch.setattr(variable, "assign", lambda value, key=key: written.append(key))
    optimizer.apply([tf.ones((3, 2)), tf.ones(4)], variables)
    assert sorted(written) == ["moments", "step", "tensor_c", "tensor_h"]
    assert float(variables[0][0, 0]) < 1.0  # the step itself happened


def test_correction_gate_is_off_while_the_momentum_carries_signal_and_saves(tmp_path):
    """`correction_gate_rms=C` changes nothing while every variable's RMS(m / sqrt(v)) >= C,
    shrinks the steps of a noise-dominated run, and survives a preset round trip."""
    rule = HierarchicalLSTM(tensor_units=5, context_units=3, hidden_units=4, base_learning_rate=0.01)
    plain = TrainedRule(rule, random_meta(rule))
    rng = np.random.default_rng(3)
    signal = [tf.constant(1.0 + 0.1 * rng.normal(size=sum(SIZES)), tf.float32) for _ in range(3)]
    noise = [tf.constant(rng.normal(size=sum(SIZES)), tf.float32) for _ in range(30)]

    def run(trained, grads):
        state, updates = trained.rule.initial_state(SIZES), []
        for g in grads:
            update, state = trained.rule(trained.meta_tensors(), g, state)
            updates.append(update.numpy())
        return np.stack(updates)

    gated = plain.reconfigured(correction_gate_rms=0.5)
    np.testing.assert_allclose(run(gated, signal), run(plain, signal), rtol=1e-6, atol=1e-9)
    assert not np.allclose(run(gated, noise)[-1], run(plain, noise)[-1], atol=1e-6)
    gated.save_to_preset(tmp_path / "gated")
    loaded = TrainedRule.from_preset(str(tmp_path / "gated"))
    assert loaded.rule.correction_gate_rms == 0.5
    np.testing.assert_array_equal(run(loaded, noise), run(gated, noise))


def test_centered_correction_matches_the_numpy_reference_and_is_zero_at_zero_inputs():
    """`correction_centered=True`: d(x) - d(0) per variable, as the reference computes it; a
    variable whose gradients have all been zero takes no step at all (the plain rule drifts)."""
    settings = dict(tensor_units=5, context_units=1, hidden_units=4, base_learning_rate=0.01)
    for gated in (None, 0.7):
        rule = HierarchicalLSTM(**settings, correction_gate_rms=gated, correction_centered=True)
        meta = random_meta(rule)
        meta_tf = {k: tf.constant(v, tf.float32) for k, v in meta.items()}
        state, expected_state = rule.initial_state(SIZES), ref.init_state(SIZES, 5)
        rng = np.random.default_rng(5)
        for _ in range(4):
            grads = rng.normal(size=sum(SIZES)) * 10.0 ** rng.uniform(-4, 1, size=sum(SIZES))
            grads[:6] = 0.0  # the first variable's gradients are always zero
            updates, state = tf.function(rule, jit_compile=True)(
                meta_tf, tf.constant(grads, tf.float32), state)
            expected, expected_state = ref.hierarchical_rule(
                meta, grads, expected_state, SIZES, 5, 0.01, gated, correction_centered=True)
            np.testing.assert_allclose(updates.numpy(), expected, rtol=2e-4, atol=1e-7)
            np.testing.assert_array_equal(updates.numpy()[:6], 0.0)
    plain = HierarchicalLSTM(**settings)
    drift, _ = plain(meta_tf, tf.constant(np.zeros(sum(SIZES)), tf.float32), plain.initial_state(SIZES))
    assert np.abs(drift.numpy()).max() > 1e-4
    assert rule.get_config()["correction_centered"] is True
    assert "correction_centered" not in plain.get_config()


@pytest.mark.parametrize("jit, rms_gate", [(False, None), (True, 0.7)])
def test_correction_fade_matches_the_numpy_reference(jit, rms_gate):
    """`correction_fade_after=A` scales d by min(1, A / t): the same steps as the rule
    without it up to step A, smaller corrections after, as the reference computes them."""
    settings = dict(tensor_units=5, context_units=3, hidden_units=4, base_learning_rate=0.01,
                    correction_gate_rms=rms_gate)
    faded, plain = HierarchicalLSTM(**settings, correction_fade_after=2), HierarchicalLSTM(**settings)
    meta = random_meta(faded)
    meta_tf = {k: tf.constant(v, tf.float32) for k, v in meta.items()}
    state, plain_state = faded.initial_state(SIZES), plain.initial_state(SIZES)
    expected_state = ref.init_state(SIZES, 5)
    call = tf.function(faded, jit_compile=True) if jit else faded
    rng = np.random.default_rng(4)
    for step in range(5):
        grads = rng.normal(size=sum(SIZES)) * 10.0 ** rng.uniform(-4, 1, size=sum(SIZES))
        updates, state = call(meta_tf, tf.constant(grads, tf.float32), state)
        unfaded, plain_state = plain(meta_tf, tf.constant(grads, tf.float32), plain_state)
        expected, expected_state = ref.hierarchical_rule(
            meta, grads, expected_state, SIZES, 5, 0.01, rms_gate, correction_fade_after=2)
        np.testing.assert_allclose(updates.numpy(), expected, rtol=2e-4, atol=1e-7)
        if step < 2:
            np.testing.assert_allclose(updates.numpy(), unfaded.numpy(), rtol=1e-5, atol=1e-8)
        else:
            assert np.abs(updates.numpy() - unfaded.numpy()).max() > 1e-4
    assert faded.get_config()["correction_fade_after"] == 2
    assert "correction_fade_after" not in plain.get_config()


def test_rollout_steps_the_rule_through_xla_with_the_graph_modes_numbers(monkeypatch):
    """`make_rollout` compiles a `compile_with_xla` rule's call (2.5-2.9x faster on the
    suite's larger models) and gives the uncompiled rollout's losses to float32 rounding."""
    from keras_l2l import rollout

    trained = TrainedRule.from_preset("general-v3")
    problem = Quadratic(dim=20)
    params = flat.flatten(problem.init_params(0))
    args = (trained.meta_tensors(), params, tf.constant(0, tf.int64), tf.constant(30))
    calls = []
    real_call = rollout._XlaCompiled.__call__
    monkeypatch.setattr(rollout._XlaCompiled, "__call__",
                        lambda self, *a: calls.append(1) or real_call(self, *a))
    xla_losses, xla_final = rollout.make_rollout(trained.rule, problem)(*args)
    assert calls  # traced through the XLA-compiled call
    monkeypatch.setattr(type(trained.rule), "compile_with_xla", False)
    graph_losses, graph_final = rollout.make_rollout(trained.rule, problem)(*args)
    assert xla_losses.numpy()[-1] < 0.5 * xla_losses.numpy()[0]
    np.testing.assert_allclose(xla_losses.numpy(), graph_losses.numpy(), rtol=1e-4)
    np.testing.assert_allclose(xla_final.numpy(), graph_final.numpy(), rtol=1e-4, atol=1e-6)


def test_anneal_fraction_scales_the_steps_of_a_run_of_known_length_in_keras(tmp_path):
    """`anneal_fraction=0.5` with `total_steps=4`: the steps of the rule as trained, then
    half of step 4's, nothing past the horizon; unknown length, or `anneal_after` >= the
    length: the rule unchanged. The setting survives a preset round trip."""
    plain = TrainedRule.from_preset("general-v3")
    annealed = plain.reconfigured(anneal_fraction=0.5)
    annealed.save_to_preset(tmp_path / "annealed")
    grads = [tf.constant(np.linspace(-1.0, 2.0, 6).reshape(2, 3), tf.float32)] * 6

    def steps(preset, total_steps=None):
        variable = keras.Variable(np.zeros((2, 3), "float32"))
        optimizer = LearnedOptimizer(preset=preset, total_steps=total_steps)
        moves = []
        for g in grads:
            before = variable.numpy()
            optimizer.apply([g], [variable])
            moves.append(variable.numpy() - before)
        return np.stack(moves)

    reference = steps(plain)
    np.testing.assert_allclose(steps(str(tmp_path / "annealed")), reference, rtol=1e-6)
    factors = steps(str(tmp_path / "annealed"), total_steps=4) / reference
    np.testing.assert_allclose(factors, np.array([1, 1, 1, 0.5, 0, 0])[:, None, None] * np.ones((1, 2, 3)),
                               rtol=1e-5, atol=1e-7)
    within_training_horizon = plain.reconfigured(anneal_fraction=0.5, anneal_after=4)
    np.testing.assert_allclose(steps(within_training_horizon, total_steps=4), reference, rtol=1e-6)


def test_step_adaptation_grows_steps_along_a_steady_gradient_and_shrinks_them_when_it_flips(tmp_path):
    """The untrained rule is Adam; with `step_adaptation=B` each step is Adam's times
    exp(clip(sum of B * cosine(gradient, previous momentum), -2, 2)): exp(B) more per step
    along a constant gradient, exp(-B) when the gradient flips sign each step. Chunked as
    `fit` runs large models, the steps are the same; the setting survives a preset round trip.
    With `step_adaptation_floor=1` the steps only grow."""
    rule = HierarchicalLSTM(base_learning_rate=0.01)
    TrainedRule(rule, rule.init_meta_params()).save_to_preset(tmp_path / "adam")
    TrainedRule.from_preset(str(tmp_path / "adam")).reconfigured(
        step_adaptation=0.5).save_to_preset(tmp_path / "adapted")

    def moves(preset, grads, chunk_size=16384):
        variable = keras.Variable(np.zeros((4, 5), "float32"))
        optimizer = LearnedOptimizer(preset=str(tmp_path / preset), chunk_size=chunk_size)
        out = []
        for g in grads:
            before = variable.numpy()
            optimizer.apply([tf.constant(g, tf.float32)], [variable])
            out.append(variable.numpy() - before)
        return np.stack(out)

    TrainedRule.from_preset(str(tmp_path / "adapted")).reconfigured(
        step_adaptation_floor=1.0).save_to_preset(tmp_path / "floored")
    multipliers = np.exp(np.minimum(0.5 * np.arange(7), 2.0))  # the first step has no momentum
    for grads, sign in (([np.full((4, 5), 0.3)] * 7, 1),
                        ([np.full((4, 5), 0.3 * (-1) ** t) for t in range(7)], -1)):
        ratio = moves("adapted", grads) / moves("adam", grads)
        np.testing.assert_allclose(ratio, multipliers[:, None, None] ** sign * np.ones((1, 4, 5)),
                                   rtol=1e-5)
        floored = moves("floored", grads) / moves("adam", grads)  # never below Adam's steps
        np.testing.assert_allclose(floored, np.maximum(multipliers ** sign, 1.0)[:, None, None]
                                   * np.ones((1, 4, 5)), rtol=1e-5)
    grads = np.random.default_rng(0).normal(size=(7, 4, 5))
    np.testing.assert_allclose(moves("adapted", grads, chunk_size=8), moves("adapted", grads),
                               rtol=1e-5, atol=1e-9)
    assert TrainedRule.from_preset(str(tmp_path / "adapted")).rule.step_adaptation == 0.5
