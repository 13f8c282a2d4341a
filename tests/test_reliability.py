"""Reliability: non-finite gradients, unusual variables and training setups,
interrupted runs (real SIGKILLs), meta-training divergence, bad arguments."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import killable_fit
from keras_l2l import CoordinatewiseLSTM, LearnedOptimizer, MetaTrainer, TrainedRule, flat
from keras_l2l.meta.trainer import TRAINING_SEED_BASE
from keras_l2l.presets import load_preset, save_preset
from keras_l2l.problems.quadratic import Quadratic

REPO_ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------


def mlp(seed=0, inputs=2, hidden=3, outputs=1):
    init = keras.initializers.GlorotUniform
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init(seed)),
            keras.layers.Dense(outputs, kernel_initializer=init(seed + 1)),
        ]
    )


def random_grads(variables, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [
        (scale * rng.normal(size=tuple(v.shape))).astype(np.float32) for v in variables
    ]


def values(variables):
    return [np.array(v.numpy()) for v in variables]


def state_of(opt):
    return {k: v.numpy() for k, v in opt.rule_state().items()}


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        a, b = list(a.values()), list(b.values())
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def assert_close(a, b, atol=1e-6):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        a, b = list(a.values()), list(b.values())
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=0, atol=atol)


def rule_step(opt, grads, state):
    """The pure rule's `(updates per variable, new state)` for `grads` from `state`."""
    meta = {k: tf.constant(v) for k, v in opt.get_meta_weights().items()}
    shapes = [tuple(np.shape(g)) for g in grads]
    updates, new_state = opt.rule(
        meta, flat.flatten([tf.constant(g) for g in grads]),
        {k: tf.constant(v) for k, v in state.items()},
    )
    lr = float(opt.learning_rate.numpy())
    return (
        [lr * u.numpy() for u in flat.unflatten(updates, shapes)],
        {k: v.numpy() for k, v in new_state.items()},
    )


def step_function(opt, variables, mode):
    def step(grads):
        opt.apply(grads, variables)

    if mode == "eager":
        return lambda grads: step([tf.constant(g) for g in grads])
    compiled = tf.function(step, jit_compile=(mode == "xla"))
    return lambda grads: compiled([tf.constant(g) for g in grads])


def fit_data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    y = (x @ np.array([[1.0], [-1.0]]) + 0.5).astype(np.float32)
    return x, y


class Recorder(keras.callbacks.Callback):
    """Model weights and the optimizer's rule state after every batch."""

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.weights, self.states = [], []

    def on_train_begin(self, logs=None):
        self.weights.append(self.model.get_weights())

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())
        self.states.append(state_of(self.opt))


# --------------------------------------------------------------------------
# 1. Non-finite gradients.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_nonfinite_gradient_step_is_skipped(mode):
    variables = mlp().trainable_variables
    opt = LearnedOptimizer(learning_rate=0.5, units=3, num_layers=2, seed=1)
    assert opt.nan_policy == "skip"
    opt.build(variables)
    step = step_function(opt, variables, mode)

    step(random_grads(variables, seed=0))
    weights, state = values(variables), state_of(opt)
    assert all(np.abs(v).max() > 0 for v in state.values())
    for count, bad in enumerate([np.nan, np.inf, -np.inf], start=1):
        grads = random_grads(variables, seed=count)
        grads[2][1, 0] = bad  # one coordinate of one variable
        step(grads)
        assert_same(values(variables), weights)
        assert_same(state_of(opt), state)
        assert int(opt.skipped_steps.numpy()) == count

    # The next finite step is exactly the rule's step from the kept state.
    grads = random_grads(variables, seed=9)
    updates, new_state = rule_step(opt, grads, state)
    step(grads)
    assert_close(values(variables), [w + u for w, u in zip(weights, updates)])
    assert_close(state_of(opt), new_state)
    assert int(opt.skipped_steps.numpy()) == 3
    assert int(opt.iterations.numpy()) == 5  # skipped steps still count as iterations


class SqrtGate(keras.layers.Layer):
    """`y = x0 * w + sqrt(gate^2 * x1)`: where `x1 == 0` the loss is finite but
    d/d(gate) is 0 * inf = NaN, in that one coordinate only."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(1,), initializer="ones", name="w")
        self.gate = self.add_weight(shape=(), initializer="ones", name="gate")

    def call(self, x):
        return x[:, :1] * self.w + tf.sqrt(tf.square(self.gate) * x[:, 1:])


def test_fit_skips_a_nan_gradient_step_under_xla():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(size=16), rng.uniform(0.5, 2.0, size=16)], 1).astype(np.float32)
    x[9, 1] = 0.0  # in the third batch of four
    y = rng.normal(size=(16, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((2,)), SqrtGate(), keras.layers.Dense(1)])
    opt = LearnedOptimizer(units=3, num_layers=1, seed=2)
    model.compile(optimizer=opt, loss="mse", jit_compile=True)
    assert model.jit_compile
    recorder = Recorder(opt)
    history = model.fit(
        x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[recorder]
    )
    assert np.isfinite(history.history["loss"][0])
    assert int(opt.skipped_steps.numpy()) == 1
    assert int(opt.iterations.numpy()) == 4
    w = recorder.weights  # w[k] = weights after k steps
    assert_same(w[3], w[2])  # the NaN step changed nothing ...
    assert_same(recorder.states[2], recorder.states[1])
    for k in (0, 1, 3):  # ... and the others trained every weight
        assert all(np.abs(a - b).max() > 0 for a, b in zip(w[k + 1], w[k]))
    assert all(np.all(np.isfinite(v)) for v in model.get_weights())


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_raise_policy_names_the_variable_and_writes_nothing(mode):
    variables = mlp().trainable_variables
    opt = LearnedOptimizer(units=3, num_layers=2, seed=1, nan_policy="raise")
    opt.build(variables)
    step = step_function(opt, variables, mode)
    step(random_grads(variables, seed=0))
    weights, state = values(variables), state_of(opt)
    for bad in (np.nan, np.inf):
        grads = random_grads(variables, seed=1)
        grads[2][1, 0] = bad
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            step(grads)
        message = str(info.value)
        assert f"non-finite gradient for {variables[2].path}" in message
        assert variables[2].path.endswith("kernel")
        # In a graph too, the check runs before anything is written.
        assert_same(values(variables), weights)
        assert_same(state_of(opt), state)
    step(random_grads(variables, seed=2))
    assert all(np.abs(a - b).max() > 0 for a, b in zip(values(variables), weights))


def test_raise_policy_is_refused_under_xla():
    variables = mlp().trainable_variables
    opt = LearnedOptimizer(units=3, num_layers=1, nan_policy="raise")
    opt.build(variables)
    weights = values(variables)
    step = step_function(opt, variables, "xla")
    with pytest.raises(ValueError, match="nan_policy='raise'.*XLA") as info:
        step(random_grads(variables))
    assert "jit_compile=False" in str(info.value) and "nan_policy='skip'" in str(info.value)
    assert_same(values(variables), weights)

    x, y = fit_data()
    model = mlp()
    model.compile(
        optimizer=LearnedOptimizer(units=3, num_layers=1, nan_policy="raise"),
        loss="mse", jit_compile=True,
    )
    with pytest.raises(ValueError, match="cannot stop an XLA-compiled step"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.compile(  # the same model trains without XLA
        optimizer=LearnedOptimizer(units=3, num_layers=1, nan_policy="raise"),
        loss="mse", jit_compile=False,
    )
    assert np.isfinite(model.fit(x, y, batch_size=8, epochs=1, verbose=0).history["loss"][0])


# --------------------------------------------------------------------------
# 2. Kinds of variables and of training.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_embedding_sparse_gradient_equals_dense_gradient_update(mode):
    def embedding():
        layer = keras.layers.Embedding(
            8, 3, embeddings_initializer=keras.initializers.RandomNormal(seed=1)
        )
        layer.build((None,))
        return layer

    sparse_layer, dense_layer = embedding(), embedding()
    assert_same(values(sparse_layer.trainable_variables), values(dense_layer.trainable_variables))
    sparse_opt = LearnedOptimizer(units=3, num_layers=2, seed=4)
    dense_opt = LearnedOptimizer(units=3, num_layers=2, seed=4)
    sparse_opt.build(sparse_layer.trainable_variables)
    dense_opt.build(dense_layer.trainable_variables)

    def train_step(layer, opt, ids, densify):
        variables = layer.trainable_variables
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(layer(ids) - 1.0))
        (grad,) = tape.gradient(loss, variables)
        is_sparse = isinstance(grad, tf.IndexedSlices)
        if densify:
            grad = tf.convert_to_tensor(grad)
        opt.apply([grad], variables)
        return is_sparse

    if mode == "graph":
        train_step = tf.function(train_step)
    before = values(sparse_layer.trainable_variables)[0]
    for ids in ([1, 4, 4], [0, 6]):
        assert train_step(sparse_layer, sparse_opt, tf.constant(ids), False)
        train_step(dense_layer, dense_opt, tf.constant(ids), True)
        assert_close(values(sparse_layer.trainable_variables), values(dense_layer.trainable_variables))
        assert_close(state_of(sparse_opt), state_of(dense_opt))
    # The gradient is densified: rows never looked up (2, 3, 5, 7) also get the
    # rule's update for a zero gradient, exactly as with the dense gradient.
    after = values(sparse_layer.trainable_variables)[0]
    assert np.abs(after[[2, 3, 5, 7]] - before[[2, 3, 5, 7]]).max() > 0


@pytest.fixture
def float32_policy_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_fit(policy, float32_policy_afterwards):
    x, y = fit_data(n=32)
    try:
        keras.mixed_precision.set_global_policy(policy)
        model = mlp(hidden=8)
        opt = LearnedOptimizer(units=3, num_layers=2, seed=0)
        model.compile(optimizer=opt, loss="mse")
        before = model.get_weights()
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.mixed_precision.global_policy().name == "float32"
    assert model.layers[0].compute_dtype == policy.split("_")[1]
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    if policy == "mixed_float16":  # compile wraps the optimizer for loss scaling
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert model.optimizer.inner_optimizer is opt
    else:
        assert model.optimizer is opt
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    after = model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after)
    assert all(np.abs(a - b).max() > 0 for a, b in zip(after, before))
    assert all(v.dtype == "float32" for v in opt.variables if "state" in v.path)
    assert int(opt.iterations.numpy()) >= 6  # float16 may skip overflowing first steps
    assert int(opt.skipped_steps.numpy()) == 0  # those never reach the optimizer


class ScalarAndEmpty(keras.layers.Layer):
    """A scalar weight and a weight with a zero dimension, shape (0, 3)."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        self.empty = self.add_weight(shape=(0, 3), initializer="zeros", name="empty")

    def call(self, x):
        return x * self.scale + tf.reduce_sum(self.empty)


def test_scalar_and_zero_size_variables():
    x, y = fit_data()
    model = keras.Sequential(
        [keras.Input((2,)), ScalarAndEmpty(), keras.layers.Dense(1, kernel_initializer="ones")]
    )
    opt = LearnedOptimizer(units=3, num_layers=2)
    model.compile(optimizer=opt, loss="mse")
    scale0 = float(model.layers[0].scale.numpy())
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.layers[0].empty.shape == (0, 3)
    assert float(model.layers[0].scale.numpy()) != scale0
    # One state row per coordinate: 1 (scalar) + 0 (empty) + 2 + 1 (Dense).
    assert all(v.shape[0] == 4 for v in opt.rule_state().values())

    # And the fused step equals the rule's step with the empty variable present.
    variables = model.trainable_variables
    grads = random_grads(variables, seed=3)
    assert grads[1].shape == (0, 3)
    before, state = values(variables), state_of(opt)
    updates, new_state = rule_step(opt, grads, state)
    opt.apply([tf.constant(g) for g in grads], variables)
    assert_close(values(variables), [w + u for w, u in zip(before, updates)])
    assert_close(state_of(opt), new_state)


def test_frozen_layer_keeps_its_weights():
    x, y = fit_data()
    model = mlp(hidden=4)
    model.layers[0].trainable = False
    opt = LearnedOptimizer(units=3, num_layers=1)
    model.compile(optimizer=opt, loss="mse")
    frozen = values(model.layers[0].weights)
    trained = values(model.layers[1].weights)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert_same(values(model.layers[0].weights), frozen)
    assert all(np.abs(a - b).max() > 0 for a, b in zip(values(model.layers[1].weights), trained))
    assert all(v.shape[0] == 4 + 1 for v in opt.rule_state().values())  # only Dense(1)


def test_gradient_accumulation_steps_two():
    variables = mlp(seed=5).trainable_variables
    reference_variables = mlp(seed=5).trainable_variables
    opt = LearnedOptimizer(units=3, num_layers=2, seed=6, gradient_accumulation_steps=2)
    reference = LearnedOptimizer(units=3, num_layers=2, seed=6)
    for pair in range(2):
        g1, g2 = random_grads(variables, 2 * pair), random_grads(variables, 2 * pair + 1)
        before, state = values(variables), state_of(opt) if pair else None
        opt.apply([tf.constant(g) for g in g1], variables)
        assert_same(values(variables), before)  # first of two: accumulate only
        if state is not None:
            assert_same(state_of(opt), state)
        opt.apply([tf.constant(g) for g in g2], variables)
        reference.apply([tf.constant((a + b) / 2) for a, b in zip(g1, g2)], reference_variables)
        assert all(np.abs(a - b).max() > 0 for a, b in zip(values(variables), before))
        assert_close(values(variables), values(reference_variables))
        assert_close(state_of(opt), state_of(reference))
    assert int(opt.iterations.numpy()) == 2  # Keras counts the real updates


@pytest.mark.parametrize("kind", ["clipnorm", "global_clipnorm"])
def test_gradients_are_clipped_before_the_rule(kind):
    variables = mlp(seed=7).trainable_variables
    reference_variables = mlp(seed=7).trainable_variables
    unclipped_variables = mlp(seed=7).trainable_variables
    opt = LearnedOptimizer(units=3, num_layers=2, seed=8, **{kind: 0.5})
    reference = LearnedOptimizer(units=3, num_layers=2, seed=8)
    unclipped = LearnedOptimizer(units=3, num_layers=2, seed=8)
    grads = [tf.constant(g) for g in random_grads(variables, seed=1, scale=100.0)]
    if kind == "clipnorm":
        clipped = [tf.clip_by_norm(g, 0.5) for g in grads]
    else:
        clipped, _ = tf.clip_by_global_norm(grads, 0.5)
    opt.apply(grads, variables)
    reference.apply(clipped, reference_variables)
    unclipped.apply(grads, unclipped_variables)
    assert_close(values(variables), values(reference_variables))
    assert_close(state_of(opt), state_of(reference))
    assert not np.allclose(values(variables)[0], values(unclipped_variables)[0])


def test_variables_added_after_build_need_a_new_optimizer():
    x, y = fit_data()
    base = keras.layers.Dense(3, activation="tanh")
    model = keras.Sequential([keras.Input((2,)), base, keras.layers.Dense(1)])
    opt = LearnedOptimizer(units=3, num_layers=1)
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)

    # Fine-tuning with a new head: the built optimizer does not know its variables.
    head = keras.layers.Dense(1, kernel_initializer="zeros", name="new_head")
    tuned = keras.Sequential([keras.Input((2,)), base, head])
    tuned.compile(optimizer=opt, loss="mse")
    with pytest.raises(ValueError, match="Unknown variable") as info:
        tuned.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert "recreate a new optimizer instance" in str(info.value)
    with pytest.raises(ValueError, match="Unknown variable.*new_head"):
        opt.apply([tf.zeros(v.shape) for v in head.trainable_variables], head.trainable_variables)

    tuned.compile(optimizer=LearnedOptimizer(units=3, num_layers=1), loss="mse")
    history = tuned.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert np.abs(head.kernel.numpy()).max() > 0


# --------------------------------------------------------------------------
# 3. Interrupted runs: real SIGKILLs of tests/killable_fit.py.
# --------------------------------------------------------------------------


def run_killable(workdir, *flags):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        [sys.executable, str(Path(killable_fit.__file__)), str(workdir), *flags],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    """Three processes: killed in `fit` mid-epoch; resumed `fit` then killed in
    meta-training; resumed meta-training to the end."""
    workdir = tmp_path_factory.mktemp("killable")
    first = run_killable(workdir, "--kill-fit", "1", "1")
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    metadata = json.loads((workdir / "backup" / "training_metadata.json").read_text())
    assert metadata["epoch"] == 1  # the end-of-epoch-0 backup exists ...
    assert not (workdir / "fit_result.npz").exists()  # ... and the run did not finish

    second = run_killable(workdir, "--kill-meta", "2")
    assert second.returncode == -signal.SIGKILL, second.stderr[-3000:]
    assert (workdir / "fit_result.npz").exists()
    assert not (workdir / "backup").exists()  # removed by a completed fit
    assert (workdir / "meta_ckpt" / "ckpt-3.index").exists()
    assert not (workdir / "meta_result.npz").exists()

    third = run_killable(workdir)
    assert third.returncode == 0, third.stderr[-3000:]
    return workdir


def test_fit_killed_mid_epoch_resumes_to_the_uninterrupted_result(killed_runs):
    with np.load(killed_runs / "fit_result.npz") as result:
        result = dict(result)
    steps = killable_fit.STEPS_PER_EPOCH
    # The resumed process ran only epochs 1 and 2 (epoch 1 again from its start).
    assert int(result["steps"]) == 2 * steps
    weights, opt_values, _ = killable_fit.run_fit()
    assert len(weights) == 4 and len(opt_values) > 4
    for i, expected in enumerate(weights):
        np.testing.assert_allclose(result[f"weight{i}"], expected, rtol=0, atol=1e-6)
    # All optimizer variables too: iterations, meta-weights, LSTM state.
    for i, expected in enumerate(opt_values):
        np.testing.assert_allclose(result[f"opt{i}"], expected, rtol=0, atol=1e-6)
    assert int(result["opt0"]) == killable_fit.FIT_EPOCHS * steps  # iterations


def test_meta_training_killed_resumes_to_the_uninterrupted_result(killed_runs):
    with np.load(killed_runs / "meta_result.npz") as result:
        result = dict(result)
    assert int(result.pop("start")) == 3  # resumed from the checkpoint after epoch 2
    best = float(result.pop("best_validation"))
    meta, expected_best, start = killable_fit.run_meta()
    assert start == 0
    assert best == pytest.approx(expected_best, rel=1e-6)
    assert result.keys() == meta.keys()
    assert_close(result, meta)


def test_step_backup_restores_the_optimizer_state_exactly(tmp_path):
    """A `save_freq=<steps>` backup holds weights and all optimizer state at that step.

    (Keras 3 resumes such a backup at the start of its epoch, replaying the
    epoch's first batches, so only `save_freq="epoch"` reproduces an
    uninterrupted run exactly; see the SIGKILL test above.)
    """
    x, y = killable_fit.fit_data()
    snapshots = {}

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            opt = self.model.optimizer
            snapshots[int(opt.iterations.numpy())] = (
                self.model.get_weights(), [v.numpy() for v in opt.variables]
            )
            if len(snapshots) == 7:
                raise KeyboardInterrupt

    model = killable_fit.make_model()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                  callbacks=[backup, Interrupt()])

    restored = killable_fit.make_model()
    restore = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=3)
    restore.set_model(restored)
    restore.on_train_begin()
    step = int(restored.optimizer.iterations.numpy())
    assert step == 6  # the last backup, in the middle of the second epoch
    weights, opt_values = snapshots[step]
    assert_same(restored.get_weights(), weights)
    assert_same([v.numpy() for v in restored.optimizer.variables], opt_values)
    assert np.abs(restored.optimizer.rule_state()["lstm0_c"].numpy()).max() > 0


# Interrupted preset writes.


ARCH = dict(units=2, num_layers=1, preprocessing="log_sign", preprocessing_p=10.0, output_scale=0.1)


def preset_weights(offset):
    init = CoordinatewiseLSTM(**ARCH).init_meta_params(0)
    return {k: (v.numpy() + offset).astype(np.float32) for k, v in init.items()}


def trained(weights, provenance=None):
    return TrainedRule(CoordinatewiseLSTM(**ARCH), weights, provenance)


def assert_preset_has(directory, weights):
    assert_same(dict(load_preset(directory).meta_params), weights)


@pytest.mark.parametrize("failure", ["weights", "provenance"])
def test_failed_preset_write_keeps_the_previous_preset(tmp_path, monkeypatch, failure):
    directory = tmp_path / "preset"
    old, new = preset_weights(0.0), preset_weights(1.0)
    save_preset(directory, trained(old, {"run": "old"}))

    if failure == "weights":  # the disk fills up halfway through weights.npz
        real_savez = np.savez

        def savez(path, **arrays):
            real_savez(path, **arrays)
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(np, "savez", savez)
        error = OSError
    else:  # Ctrl-C while provenance.json is half written
        real_write_text = Path.write_text

        def write_text(self, text, *args, **kwargs):
            if self.name == "provenance.json":
                real_write_text(self, text[: len(text) // 2])
                raise KeyboardInterrupt
            return real_write_text(self, text, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", write_text)
        error = KeyboardInterrupt
    with pytest.raises(error):
        save_preset(directory, trained(new, {"run": "new"}))
    monkeypatch.undo()

    assert_preset_has(directory, old)
    assert json.loads((directory / "provenance.json").read_text())["run"] == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preset"]  # no .partial debris
    save_preset(directory, trained(new, {"run": "new"}))  # and the next write works
    assert_preset_has(directory, new)


def test_preset_killed_between_renames_still_loads(tmp_path):
    directory = tmp_path / "preset"
    old, new = preset_weights(0.0), preset_weights(1.0)
    save_preset(directory, trained(old, {}))
    # The state a SIGKILL between save_preset's two renames leaves behind.
    save_preset(tmp_path / "staging", trained(new, {}))
    directory.rename(tmp_path / "preset.previous")
    (tmp_path / "staging").rename(tmp_path / "preset.partial")
    assert_preset_has(directory, old)
    assert_same(LearnedOptimizer(preset=directory).get_meta_weights(), old)
    save_preset(directory, trained(new, {}))
    assert_preset_has(directory, new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preset"]


# --------------------------------------------------------------------------
# 4. Meta-training divergence.
# --------------------------------------------------------------------------


class DivergingQuadratic(Quadratic):
    """A quadratic whose targets are NaN in training runs from epoch `bad_from` on."""

    def __init__(self, bad_from):
        super().__init__(dim=3)
        self.bad_seed = TRAINING_SEED_BASE + bad_from

    def batch(self, seed, step):
        w, y = super().batch(seed, step)
        poison = tf.where(tf.cast(seed, tf.int64) >= self.bad_seed, np.nan, 0.0)
        return w, y + poison


def test_meta_divergence_recovers_and_never_saves_nan(tmp_path, capsys):
    opt = LearnedOptimizer(units=3, num_layers=1, seed=1)
    initial = opt.get_meta_weights()
    trainer = MetaTrainer(
        opt, DivergingQuadratic(bad_from=2), horizon=4, unroll=2,
        meta_optimizer=keras.optimizers.Adam(1e-2), validation_every=1, validation_runs=1,
        checkpoint_dir=str(tmp_path / "ckpt"), checkpoint_every=1, max_bad_steps=2, seed=0,
    )
    good = {}

    class Keep:
        def on_epoch_end(self, epoch, logs):
            good[epoch] = dict(trainer.trained_rule().meta_params)

    history = trainer.fit(5, callbacks=[Keep()], verbose=0, restore_best=False)
    assert history["bad_steps"] == [0, 0, 1, 1, 1]
    assert int(trainer.skipped_meta_steps.numpy()) == 3
    out = capsys.readouterr().out
    assert out.count("MetaTrainer: 2 consecutive non-finite meta-steps at epoch 3") == 1
    assert "restored the last good meta-parameters" in out
    assert "lowered the meta learning rate to 0.005" in out
    assert float(trainer.meta_optimizer.learning_rate.numpy()) == pytest.approx(5e-3)
    # The meta-parameters are those of the last good epoch, and finite.
    final = opt.get_meta_weights()  # the trainer wrote its result back
    assert_same(final, good[1])
    assert any(not np.allclose(final[k], initial[k]) for k in final)
    # Every checkpoint kept (the last three) holds finite values only.
    kept = sorted((tmp_path / "ckpt").glob("ckpt-*.index"))
    assert [p.name for p in kept] == ["ckpt-3.index", "ckpt-4.index", "ckpt-5.index"]
    for index in kept:
        reader = tf.train.load_checkpoint(str(index.with_suffix("")))
        for name, dtype in reader.get_variable_to_dtype_map().items():
            if dtype.is_floating:
                assert np.all(np.isfinite(reader.get_tensor(name))), (index.name, name)

    # Exported: finite; a NaN is refused and the existing preset survives.
    directory = tmp_path / "preset"
    save_preset(directory, trainer.trained_rule({"epochs": 5}))
    assert_preset_has(directory, final)
    poisoned = dict(final, lstm0_kernel=np.full_like(final["lstm0_kernel"], np.nan))
    with pytest.raises(ValueError, match="'lstm0_kernel' is not finite"):
        save_preset(directory, trainer.trained_rule().replace(meta_params=poisoned))
    assert_preset_has(directory, final)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "preset"]


# --------------------------------------------------------------------------
# 6. Bad arguments (those not covered by test_rule.py / test_optimizer.py).
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,allowed",
    [
        (dict(nan_policy="ignore"), ("'skip'", "'raise'")),
        (dict(nan_policy=None), ("'skip'", "'raise'")),
        (dict(state_dtype="float64"), ("'float32'", "'bfloat16'", "'float16'")),
        (dict(state_dtype="int8"), ("'float32'", "'bfloat16'", "'float16'")),
    ],
)
def test_unknown_optimizer_options_list_the_allowed_values(kwargs, allowed):
    with pytest.raises(ValueError) as info:
        LearnedOptimizer(**kwargs)
    message = str(info.value)
    assert repr(next(iter(kwargs.values()))) in message
    for value in allowed:
        assert value in message


@pytest.mark.parametrize(
    "value",
    [
        np.array(["a", "b"]),
        np.zeros(2, np.complex64),
        np.array([object(), object()], dtype=object),
    ],
    ids=["str", "complex", "object"],
)
def test_set_meta_weights_rejects_non_real_dtypes(value):
    opt = LearnedOptimizer(units=1, num_layers=1)
    before = opt.get_meta_weights()
    other = {k: v + 1.0 for k, v in before.items()}
    bad = dict(other, output_bias=value[:1])
    with pytest.raises(ValueError, match="'output_bias' has dtype .*expected real numbers"):
        opt.set_meta_weights(bad)
    assert_same(opt.get_meta_weights(), before)  # nothing assigned
    # Real numbers of other dtypes are fine (stored as float32).
    opt.set_meta_weights({k: v.astype(np.float64) for k, v in other.items()})
    assert_same(opt.get_meta_weights(), {k: v.astype(np.float32) for k, v in other.items()})


def test_set_meta_weights_wrong_shape_says_the_expected_shapes():
    opt = LearnedOptimizer(units=2, num_layers=1)
    bad = dict(opt.get_meta_weights(), lstm0_kernel=np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError) as info:
        opt.set_meta_weights(bad)
    message = str(info.value)
    assert "'lstm0_kernel': (4, 8)" in message and "'lstm0_kernel': (3, 3)" in message
    assert "'units': 2" in message
