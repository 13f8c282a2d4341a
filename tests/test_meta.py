"""`MetaTrainer`: meta-gradients, meta-training, resume, NaN handling, validation, presets.

The meta-gradient tests compare the trainer (float32, its own compiled
truncation) with an independent float64 re-implementation of the truncated
meta-loss written here: the quadratic's loss and gradient are coded by hand,
only the rule itself (tested against a NumPy reference in test_rule.py) and
the problem's data stream are shared.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import CoordinatewiseLSTM, LearnedOptimizer, MetaTrainer, TrainedRule, flat
from keras_l2l.meta import meta_loss_weights
from keras_l2l.meta.trainer import TRAINING_SEED_BASE
from keras_l2l.presets import load_preset, save_preset
from keras_l2l.problems import Quadratic
from keras_l2l.rollout import make_rollout
from keras_l2l.rules import HierarchicalLSTM

# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------


class ShiftingQuadratic(Quadratic):
    """A quadratic whose target moves with the step: pins the batch index of every loss."""

    def batch(self, seed, step):
        w, y = super().batch(seed, step)
        return w, y + 0.5 * tf.cast(step, tf.float32)


class NaNQuadratic(Quadratic):
    """A quadratic whose loss is NaN from `bad_step` on, in runs with seed >= `bad_seed`.

    The NaN is added to the loss value only, so the optimizee gradient stays
    finite and the trainer must catch the non-finite meta-loss itself.
    """

    def __init__(self, bad_step, bad_seed=0, **kwargs):
        super().__init__(**kwargs)
        self.bad_step, self.bad_seed = bad_step, bad_seed

    def batch(self, seed, step):
        w, y = super().batch(seed, step)
        return w, y, tf.cast(seed, tf.int64), tf.cast(step, tf.int64)

    def loss(self, params, batch):
        w, y, seed, step = batch
        bad = (step >= self.bad_step) & (seed >= self.bad_seed)
        return super().loss(params, (w, y)) + tf.where(bad, math.nan, 0.0)


def meta_values(source):
    """Meta-weights of a LearnedOptimizer or a MetaTrainer, float64, in the rule's order."""
    return [np.array(v, np.float64) for v in source.trained_rule().meta_params.values()]


def meta_names(source):
    return list(source.trained_rule().meta_params)


def random_meta(optimizer, seed=0, scale=0.5):
    """Non-default meta-weights, so the checks do not rely on the initialization."""
    rng = np.random.default_rng(seed)
    weights = {
        k: (rng.normal(size=v.shape) * scale).astype(np.float32)
        for k, v in optimizer.get_meta_weights().items()
    }
    optimizer.set_meta_weights(weights)


def quadratic_grad(w, y, theta):
    """Hand-written f = sum_p ||W_p theta_p - y_p||^2 and its gradient 2 W^T r."""
    residual = tf.einsum("pij,pj->pi", w, theta) - y
    return tf.reduce_sum(residual**2), 2.0 * tf.einsum("pij,pi->pj", w, residual)


def reference_truncation(rule, meta, problem, seed, theta, state, start, weights, second_order):
    """Float64 truncated meta-loss: sum_t w_t f_t(theta_t) / unroll, t = 1..unroll.

    theta_t are the parameters after update t (counted from `start`), f_t uses
    the batch of step start + t. Returns (meta_loss, theta, state) at the end.
    """
    shape = (problem.num_problems, problem.dim)
    unroll = len(weights)

    def data(step):
        w, y = problem.batch(seed, step)
        return tf.cast(w, tf.float64), tf.cast(y, tf.float64)

    total = tf.constant(0.0, tf.float64)
    for t in range(unroll):
        _, g = quadratic_grad(*data(start + t), tf.reshape(theta, shape))
        g = tf.reshape(g, [-1])
        if not second_order:
            g = tf.stop_gradient(g)
        update, state = rule(meta, g, state)
        theta = theta + update
        f, _ = quadratic_grad(*data(start + t + 1), tf.reshape(theta, shape))
        total += weights[t] * f
    return total / unroll, theta, state


def reference_start(rule, problem, seed):
    theta = tf.cast(flat.flatten(problem.init_params(seed)), tf.float64)
    state = {
        k: tf.zeros(v.shape, tf.float64)
        for k, v in rule.init_state(int(theta.shape[0])).items()
    }
    return theta, state


def reference_loss_and_grads(optimizer, meta, problem, seed, unroll, second_order):
    """Reference meta-loss of the first truncation and its tape gradient (float64)."""
    rule, names = optimizer.rule, meta_names(optimizer)
    meta = [tf.constant(m, tf.float64) for m in meta]
    theta, state = reference_start(rule, problem, seed)
    weights = np.ones(unroll)
    with tf.GradientTape() as tape:
        tape.watch(meta)
        loss, _, _ = reference_truncation(
            rule, dict(zip(names, meta)), problem, seed, theta, state, 0, weights, second_order
        )
    return float(loss), [g.numpy() for g in tape.gradient(loss, meta)]


def trainer_meta_gradient(optimizer, problem, unroll, second_order):
    """The trainer's meta-gradient of one truncation, read off one SGD(lr=1) step.

    SGD applies `v -= 1.0 * grad`, so the change of every meta-variable is
    -grad up to float32 rounding of v (|v| ~ 1, so ~1e-7 absolute).
    """
    trainer = MetaTrainer(
        optimizer, problem, horizon=unroll, unroll=unroll,
        meta_optimizer=keras.optimizers.SGD(learning_rate=1.0),
        second_order=second_order, validation_every=0,
    )
    before = meta_values(trainer)
    logs = trainer.train_epoch(0)
    after = meta_values(trainer)
    assert logs["bad_steps"] == 0
    return logs["meta_loss"], [b - a for b, a in zip(before, after)]


def second_order_sensitive_optimizer():
    """A small rule whose meta-gradient visibly depends on second derivatives.

    With the log/sign preprocessing (derivative ~1/(p g)) and small random
    meta-weights the second-order terms are < 0.1% of the meta-gradient, too
    little for a check at 1e-3 to notice them missing; with raw-gradient input
    and larger meta-weights they are a few percent.
    """
    optimizer = LearnedOptimizer(units=4, num_layers=2, preprocessing="none")
    random_meta(optimizer, scale=1.0)
    return optimizer


def rel_error(a, b):
    a, b = np.concatenate([x.ravel() for x in a]), np.concatenate([x.ravel() for x in b])
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# --------------------------------------------------------------------------
# 1. Meta-gradients.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "problem_cls", [Quadratic, ShiftingQuadratic], ids=["quadratic", "shifting"]
)
def test_second_order_meta_gradient_matches_finite_differences(problem_cls):
    """Trainer (float32) vs central differences of the float64 reference meta-loss.

    The reference is float64 so the finite differences are accurate to ~1e-9
    (eps = 1e-5); the tolerance 1e-3 then covers the trainer's float32
    arithmetic. A floor of 1e-3 * max|grad| keeps near-zero entries from
    turning float32 noise into a large relative error.
    """
    problem, unroll = problem_cls(dim=3, num_problems=2), 3
    seed = TRAINING_SEED_BASE  # the run of epoch 0 for trainer seed 0
    optimizer = second_order_sensitive_optimizer()
    meta0 = meta_values(optimizer)
    names = meta_names(optimizer)

    trainer_loss, trainer_grads = trainer_meta_gradient(optimizer, problem, unroll, True)
    ref_loss, ref_grads = reference_loss_and_grads(optimizer, meta0, problem, seed, unroll, True)
    _, first_order = reference_loss_and_grads(optimizer, meta0, problem, seed, unroll, False)
    assert trainer_loss == pytest.approx(ref_loss, rel=1e-5)
    assert rel_error(trainer_grads, ref_grads) < 1e-4
    # A first-order gradient would fail this test.
    assert rel_error(trainer_grads, first_order) > 1e-2

    def meta_loss(values):
        theta, state = reference_start(optimizer.rule, problem, seed)
        meta = {n: tf.constant(v, tf.float64) for n, v in zip(names, values)}
        loss, _, _ = reference_truncation(
            optimizer.rule, meta, problem, seed, theta, state, 0, np.ones(unroll), True
        )
        return float(loss)

    rng = np.random.default_rng(1)
    floor = 1e-3 * max(np.abs(g).max() for g in trainer_grads)
    eps = 1e-5
    # Entries from every meta-parameter (kernels, biases, output layer), 2 each.
    for k in range(len(meta0)):
        for index in {tuple(rng.integers(s) for s in meta0[k].shape) for _ in range(2)}:
            plus = [m.copy() for m in meta0]
            minus = [m.copy() for m in meta0]
            plus[k][index] += eps
            minus[k][index] -= eps
            fd = (meta_loss(plus) - meta_loss(minus)) / (2 * eps)
            got = trainer_grads[k][index]
            assert abs(got - fd) <= 1e-3 * max(abs(fd), floor), (names[k], index, got, fd)


def test_first_order_meta_gradient_is_the_stop_gradient_surrogate():
    problem, unroll = Quadratic(dim=3, num_problems=2), 3
    seed = TRAINING_SEED_BASE
    optimizer = second_order_sensitive_optimizer()
    meta0 = meta_values(optimizer)

    trainer_loss, first = trainer_meta_gradient(optimizer, problem, unroll, False)
    ref_loss, surrogate = reference_loss_and_grads(optimizer, meta0, problem, seed, unroll, False)
    _, full = reference_loss_and_grads(optimizer, meta0, problem, seed, unroll, True)
    assert trainer_loss == pytest.approx(ref_loss, rel=1e-5)
    assert rel_error(first, surrogate) < 1e-4
    # The check can tell the two apart: second derivatives matter here.
    assert rel_error(first, full) > 1e-2


def test_truncations_carry_parameters_state_and_weight_slices():
    """Two truncations: the second starts from the first's (theta, state), uses the
    meta-parameters already updated by the first, and the weights w[3:6]."""
    problem, horizon, unroll = ShiftingQuadratic(dim=3, num_problems=2), 6, 3
    seed = TRAINING_SEED_BASE
    optimizer = LearnedOptimizer(units=4, num_layers=1)
    random_meta(optimizer)
    meta0, names, rule = meta_values(optimizer), meta_names(optimizer), optimizer.rule
    trainer = MetaTrainer(
        optimizer, problem, horizon=horizon, unroll=unroll, meta_loss="exponential",
        meta_optimizer=keras.optimizers.SGD(learning_rate=1.0), validation_every=0,
    )
    logs = trainer.train_epoch(0)
    assert logs["bad_steps"] == 0

    # The same epoch by hand (first order), with the default decay 0.95.
    weights = meta_loss_weights("exponential", horizon)
    theta, state = reference_start(rule, problem, seed)
    meta = [tf.constant(m, tf.float64) for m in meta0]
    losses = []
    for k in range(horizon // unroll):
        start = k * unroll
        with tf.GradientTape() as tape:
            tape.watch(meta)
            loss, theta, state = reference_truncation(
                rule, dict(zip(names, meta)), problem, seed, theta, state, start,
                weights[start : start + unroll].astype(np.float64), False,
            )
        grads = tape.gradient(loss, meta)
        theta, state = tf.stop_gradient(theta), tf.nest.map_structure(tf.stop_gradient, state)
        meta = [m - g for m, g in zip(meta, grads)]
        losses.append(float(loss))
    assert logs["meta_loss"] == pytest.approx(np.mean(losses), rel=1e-5)
    expected, got = [m.numpy() for m in meta], meta_values(trainer)
    change = [e - m for e, m in zip(expected, meta0)]
    assert rel_error([g - m for g, m in zip(got, meta0)], change) < 1e-4


def test_run_lengths_are_drawn_from_the_list_and_told_to_the_rule():
    """With several horizons each run has one of them (as many truncations as it needs), and
    the rule is told its length, except in the runs drawn to hide it (told 0)."""
    start = TrainedRule.untrained(HierarchicalLSTM(tensor_units=3, horizon_features=True))
    trainer = MetaTrainer(start, Quadratic(dim=3), horizon=[2, 6], unroll=2,
                          unknown_horizon_prob=0.3, validation_every=0)
    told, original = [], trainer.rule.with_horizon
    trainer.rule.with_horizon = lambda state, steps: told.append(steps) or original(state, steps)
    seen = []
    for epoch in range(16):
        before = int(trainer.meta_optimizer.iterations.numpy())
        logs = trainer.train_epoch(epoch)
        truncations = int(trainer.meta_optimizer.iterations.numpy()) - before
        assert truncations == logs["horizon"] // 2
        assert told[-1] == (0 if logs["horizon_hidden"] else logs["horizon"])
        seen.append((logs["horizon"], logs["horizon_hidden"]))
    assert {h for h, _ in seen} == {2, 6}
    assert {hidden for _, hidden in seen} == {0, 1}
    assert trainer.trained_rule().provenance["horizon"] == [2, 6]
    replay = MetaTrainer(start, Quadratic(dim=3), horizon=[2, 6], unroll=2,
                         unknown_horizon_prob=0.3, validation_every=0)
    assert [replay._run_setup(e)[5:] for e in range(16)] == [
        (h, 0 if hidden else h) for h, hidden in seen]


def test_rollouts_tell_the_rule_their_length():
    """A rule trained to read the run's length takes other steps in a 5-step run than in
    the first 5 steps of a 50-step run."""
    rule = HierarchicalLSTM(tensor_units=3, horizon_features=True)
    meta = {k: tf.constant(np.random.default_rng(0).normal(scale=0.5, size=s), tf.float32)
            for k, s in rule.meta_param_shapes().items()}
    problem = Quadratic(dim=4)
    run = make_rollout(rule, problem)
    params = flat.flatten(problem.init_params(0))
    short, _ = run(meta, params, tf.constant(0, tf.int64), tf.constant(5))
    long, _ = run(meta, params, tf.constant(0, tf.int64), tf.constant(50))
    assert short[0] == long[0]  # same start
    assert np.abs(short.numpy() - long.numpy()[:5]).max() > 1e-6


# --------------------------------------------------------------------------
# 2. Meta-training helps.
# --------------------------------------------------------------------------


def mean_final_loss(optimizer, problem, steps, seeds=range(10)):
    run = make_rollout(optimizer.rule, problem)
    meta = optimizer.trained_rule().meta_tensors()
    finals = []
    for seed in seeds:
        params = flat.flatten(problem.init_params(seed))
        _, final = run(meta, params, tf.constant(seed, tf.int64), tf.constant(steps))
        finals.append(float(problem.loss(flat.unflatten(final, problem.shapes()),
                                         problem.batch(seed, 0))))
    return float(np.mean(finals))


def test_meta_training_lowers_held_out_loss_on_the_quadratic():
    problem = Quadratic(num_problems=32)
    optimizer = LearnedOptimizer(preset=None)
    untrained = mean_final_loss(optimizer, problem, 20)
    trainer = MetaTrainer(
        optimizer, problem, horizon=20, unroll=10,
        meta_optimizer=keras.optimizers.Adam(1e-2), validation_every=0,
    )
    history = trainer.fit(60, verbose=0)
    assert sum(history["bad_steps"]) == 0
    trained = mean_final_loss(optimizer, problem, 20)  # seeds 0..9, never trained on
    assert math.isfinite(trained)
    assert trained < 0.7 * untrained, (trained, untrained)


# --------------------------------------------------------------------------
# 3. Resume from checkpoints.
# --------------------------------------------------------------------------


def tiny_trainer(checkpoint_dir, **kwargs):
    optimizer = LearnedOptimizer(units=4, num_layers=1, seed=3)
    kwargs = dict(
        horizon=4, unroll=2, meta_optimizer=keras.optimizers.Adam(1e-2),
        validation_every=2, validation_runs=2, checkpoint_dir=str(checkpoint_dir),
        checkpoint_every=1, seed=5, **kwargs,
    )
    return MetaTrainer(optimizer, Quadratic(dim=2, num_problems=3), **kwargs)


def test_resume_from_checkpoint_reproduces_an_uninterrupted_run(tmp_path):
    epochs = 6
    a = tiny_trainer(tmp_path / "a")
    a.fit(epochs, verbose=0, restore_best=False)

    b = tiny_trainer(tmp_path / "b")
    b.fit(epochs // 2, verbose=0, restore_best=False)
    assert int(b.epoch.numpy()) == epochs // 2
    c = tiny_trainer(tmp_path / "b")  # fresh optimizer objects, same directory
    assert int(c.epoch.numpy()) == epochs // 2
    np.testing.assert_allclose(
        np.concatenate([m.ravel() for m in meta_values(c)]),
        np.concatenate([m.ravel() for m in meta_values(b)]), atol=0,
    )
    history = c.fit(epochs, verbose=0, restore_best=False)
    assert len(history["loss"]) == epochs - epochs // 2  # only the missing epochs ran

    assert int(c.epoch.numpy()) == epochs
    for got, want in zip(meta_values(c), meta_values(a)):
        np.testing.assert_allclose(got, want, atol=1e-6)
    for got, want in zip(c.meta_optimizer.variables, a.meta_optimizer.variables):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6, rtol=1e-6)
    for got, want in zip(c.best_meta.values(), a.best_meta.values()):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)
    assert float(c.best_validation.numpy()) == pytest.approx(float(a.best_validation.numpy()))
    assert math.isfinite(float(a.best_validation.numpy()))


# --------------------------------------------------------------------------
# 4. Non-finite meta-steps.
# --------------------------------------------------------------------------


class Recorder:
    """A callback keeping the trainer's meta-weights after every epoch (and checking them)."""

    def __init__(self, trainer):
        self.trainer, self.values = trainer, []

    def on_epoch_end(self, epoch, logs):
        values = meta_values(self.trainer)
        assert all(np.all(np.isfinite(v)) for v in values), f"NaN meta-weights at {epoch}"
        self.values.append(values)


def test_nan_meta_steps_are_skipped_counted_and_recovered(capsys):
    # Every run: the first truncation (steps 0..2) is fine, the second hits NaN.
    problem = NaNQuadratic(bad_step=3, dim=2, num_problems=2)
    optimizer = LearnedOptimizer(units=4, num_layers=1)
    initial = meta_values(optimizer)
    trainer = MetaTrainer(
        optimizer, problem, horizon=4, unroll=2, max_bad_steps=2,
        meta_optimizer=keras.optimizers.Adam(1e-2), validation_every=0,
    )
    recorder = Recorder(trainer)
    history = trainer.fit(4, verbose=0, callbacks=[recorder])
    assert history["bad_steps"] == [1, 1, 1, 1]
    assert int(trainer.skipped_meta_steps.numpy()) == 4
    # The good first truncation of epoch 0 was applied ...
    assert any(not np.array_equal(a, b) for a, b in zip(recorder.values[0], initial))
    # ... and after every 2 bad epochs the last good values (here: the initial
    # ones, no validation ran) are back, with the meta learning rate halved each time.
    for epoch in (1, 3):
        for got, want in zip(recorder.values[epoch], initial):
            np.testing.assert_array_equal(got, want)
    assert float(trainer.meta_optimizer.learning_rate.numpy()) == pytest.approx(0.25e-2)
    assert "consecutive non-finite meta-steps" in capsys.readouterr().out


def test_recovery_restores_the_last_validated_meta_parameters():
    # Runs of epochs 0 and 1 are fine; from epoch 2 on the second truncation is NaN.
    problem = NaNQuadratic(bad_step=3, bad_seed=TRAINING_SEED_BASE + 2, dim=2, num_problems=2)
    optimizer = LearnedOptimizer(units=4, num_layers=1)
    trainer = MetaTrainer(
        optimizer, problem, horizon=4, unroll=2, max_bad_steps=2,
        meta_optimizer=keras.optimizers.Adam(1e-2), validation_every=2, validation_runs=2,
    )
    recorder = Recorder(trainer)
    history = trainer.fit(4, verbose=0, callbacks=[recorder], restore_best=False)
    assert history["bad_steps"] == [0, 0, 1, 1]
    assert int(trainer.skipped_meta_steps.numpy()) == 2
    validated = recorder.values[1]  # validated (and snapshot) at the end of epoch 1
    assert any(not np.array_equal(a, b) for a, b in zip(recorder.values[2], validated))
    for got, want in zip(recorder.values[3], validated):
        np.testing.assert_array_equal(got, want)
    assert float(trainer.meta_optimizer.learning_rate.numpy()) == pytest.approx(0.5e-2)


def test_huge_meta_learning_rate_never_puts_nan_into_meta_weights():
    optimizer = LearnedOptimizer(units=4, num_layers=1)
    trainer = MetaTrainer(
        optimizer, Quadratic(dim=3, num_problems=4), horizon=6, unroll=2,
        meta_optimizer=keras.optimizers.SGD(1e6), validation_every=0, max_bad_steps=100,
    )
    recorder = Recorder(trainer)
    history = trainer.fit(4, verbose=0, callbacks=[recorder])  # checks finiteness
    assert history["bad_steps"][0] == 0  # the first, huge step is applied ...
    skipped = int(trainer.skipped_meta_steps.numpy())
    assert skipped > 0  # ... and its diverging optimizees give non-finite meta-losses
    assert skipped == sum(history["bad_steps"])


# --------------------------------------------------------------------------
# 5. Meta-loss weights and argument checks.
# --------------------------------------------------------------------------


def test_meta_loss_weights():
    np.testing.assert_array_equal(meta_loss_weights("uniform", 4), np.ones(4))
    np.testing.assert_array_equal(meta_loss_weights("final", 4), [0, 0, 0, 1])
    np.testing.assert_allclose(
        meta_loss_weights("exponential", 4, decay=0.5), [0.125, 0.25, 0.5, 1.0]
    )
    np.testing.assert_allclose(meta_loss_weights("exponential", 3), [0.95**2, 0.95, 1.0])
    np.testing.assert_allclose(
        meta_loss_weights(lambda t, horizon: t / horizon, 4), [0.25, 0.5, 0.75, 1.0]
    )
    for kind in ("uniform", "final", "exponential"):
        weights = meta_loss_weights(kind, 5)
        assert weights.shape == (5,) and weights.dtype == np.float32
    with pytest.raises(ValueError, match="Unknown meta-loss weights"):
        meta_loss_weights("linear", 4)


def test_trainer_argument_checks():
    optimizer = LearnedOptimizer(units=4, num_layers=1)
    problem = Quadratic(dim=2)
    with pytest.raises(ValueError, match="multiple of unroll"):
        MetaTrainer(optimizer, problem, horizon=10, unroll=3)
    with pytest.raises(ValueError, match="Unknown meta-loss weights"):
        MetaTrainer(optimizer, problem, horizon=4, unroll=2, meta_loss="bogus")
    with pytest.raises(ValueError, match="validation_metric"):
        MetaTrainer(optimizer, problem, horizon=4, unroll=2, validation_metric="median")
    trainer = MetaTrainer(optimizer, problem, horizon=6, unroll=2, meta_loss="final")
    np.testing.assert_array_equal(trainer.weights[6], [0, 0, 0, 0, 0, 1])


# --------------------------------------------------------------------------
# 6. Validation keeps the best meta-parameters.
# --------------------------------------------------------------------------


def test_fit_with_validation_restores_the_best_meta_parameters():
    optimizer = LearnedOptimizer(units=4, num_layers=1)
    trainer = MetaTrainer(
        optimizer, Quadratic(dim=3, num_problems=4), horizon=6, unroll=3,
        meta_optimizer=keras.optimizers.Adam(3e-2), validation_every=1, validation_runs=2,
    )
    initial = trainer.validate()
    history = trainer.fit(5, verbose=0)
    best = float(trainer.best_validation.numpy())
    assert math.isfinite(best)
    assert best == pytest.approx(min(history["val_loss"] + [initial]), rel=1e-6)
    for got, want in zip(meta_values(optimizer), trainer.best_meta.values()):
        np.testing.assert_array_equal(got, want.numpy())
    assert trainer.validate() == pytest.approx(best, rel=1e-5)


# --------------------------------------------------------------------------
# 7. Presets from a trainer.
# --------------------------------------------------------------------------


def test_trainer_produces_a_trained_rule_that_round_trips_as_a_preset(tmp_path):
    start = TrainedRule.untrained(
        CoordinatewiseLSTM(units=5, num_layers=2, preprocessing="clamped_log_sign",
                           preprocessing_p=5.0, output_scale=0.01), seed=2,
    )
    trainer = MetaTrainer(
        start, Quadratic(dim=2, num_problems=2), horizon=4, unroll=2,
        meta_optimizer=keras.optimizers.Adam(1e-2), validation_every=0, seed=3,
    )
    trainer.fit(2, verbose=0)
    trained = trainer.trained_rule({"description": "test"})
    assert trained.provenance["epochs"] == 2 and trained.provenance["seed"] == 3
    assert any(not np.array_equal(trained.meta_params[k], v)
               for k, v in start.meta_params.items())
    directory = save_preset(tmp_path / "preset", trained)
    loaded = load_preset(directory)
    assert loaded.rule_config() == trained.rule_config()
    assert loaded.provenance["description"] == "test" and "weights_sha256" in loaded.provenance
    for key, value in trained.meta_params.items():
        np.testing.assert_array_equal(loaded.meta_params[key], value)

    for preset in (str(directory), trained):  # from disk, and straight from memory
        restored = LearnedOptimizer.from_preset(preset)
        assert restored.rule.get_config() == trained.rule.get_config()
        for key, value in restored.get_meta_weights().items():
            np.testing.assert_array_equal(value, trained.meta_params[key])
        with pytest.raises(ValueError, match="contradict"):
            LearnedOptimizer(preset=preset, units=7)


def test_trainer_owns_its_meta_parameters_and_writes_back_to_an_optimizer():
    optimizer = LearnedOptimizer(units=3, num_layers=1, seed=1)
    before = optimizer.get_meta_weights()
    trainer = MetaTrainer(
        optimizer, Quadratic(dim=2, num_problems=2), horizon=4, unroll=2,
        meta_optimizer=keras.optimizers.Adam(1e-2), validation_every=0,
    )
    assert all(isinstance(v, keras.Variable) for v in trainer.meta_variables.values())
    trainer.train_epoch(0)
    for key, value in optimizer.get_meta_weights().items():  # untouched until fit ends
        np.testing.assert_array_equal(value, before[key])
    trainer.fit(2, verbose=0)
    for key, value in trainer.trained_rule().meta_params.items():
        np.testing.assert_array_equal(optimizer.get_meta_weights()[key], value)
    with pytest.raises(TypeError, match="TrainedRule, an UpdateRule or a LearnedOptimizer"):
        MetaTrainer("mnist", Quadratic(dim=2))


def test_imitation_runs_learn_to_copy_the_teacher():
    """With imitation_prob=1 the meta-loss is the squared distance to Adam's steps, and it falls."""
    from keras_l2l.rules import Adam

    problem = Quadratic(num_problems=8)
    optimizer = LearnedOptimizer(units=8, num_layers=1, seed=1)
    trainer = MetaTrainer(
        optimizer, problem, horizon=10, unroll=5, imitation_prob=1.0,
        imitation_rule=Adam(0.05), meta_optimizer=keras.optimizers.Adam(1e-2),
        validation_every=0,
    )
    history = trainer.fit(40, verbose=0, restore_best=False)
    assert all(history["imitation"])
    first, last = np.mean(history["meta_loss"][:5]), np.mean(history["meta_loss"][-5:])
    assert last < 0.5 * first


def test_training_that_only_gets_worse_keeps_the_starting_meta_parameters():
    """A curriculum stage that never beats the weights it started from keeps them."""
    optimizer = LearnedOptimizer(units=4, num_layers=1, seed=3)
    start = meta_values(optimizer)
    trainer = MetaTrainer(
        optimizer, Quadratic(dim=3, num_problems=4), horizon=6, unroll=3,
        meta_optimizer=keras.optimizers.SGD(-1e3),  # ascent: every step makes it worse
        validation_every=1, validation_runs=2,
    )
    initial = trainer.validate()
    history = trainer.fit(3, verbose=0)
    assert min(v for v in history["val_loss"]) > initial
    for got, want in zip(meta_values(optimizer), start):
        np.testing.assert_array_equal(got, want)


def test_several_tasks_per_meta_step_average_their_meta_gradients():
    """A group's meta-step is the mean of its tasks' meta-gradients, in one compiled call."""
    a, b = Quadratic(dim=3, num_problems=2), ShiftingQuadratic(dim=2, num_problems=3)
    start = TrainedRule(CoordinatewiseLSTM(units=3, num_layers=1),
                        CoordinatewiseLSTM(units=3, num_layers=1).init_meta_params(4))

    def change(problems, epoch, **kwargs):
        trainer = MetaTrainer(start, problems, horizon=3, unroll=3, validation_every=0,
                              meta_optimizer=keras.optimizers.SGD(1.0), **kwargs)
        logs = trainer.train_epoch(epoch)
        assert logs["bad_steps"] == 0
        after = meta_values(trainer)
        return [x - y for x, y in zip(after, [np.array(v, np.float64)
                                              for v in start.meta_params.values()])], trainer

    alone_a, _ = change([a], 0)  # run seed TRAINING_SEED_BASE
    alone_b, _ = change([b], 1)  # run seed TRAINING_SEED_BASE + 1
    together, trainer = change([a, b], 0, tasks_per_step=2)
    expected = [(x + y) / 2 for x, y in zip(alone_a, alone_b)]
    assert rel_error(together, expected) < 1e-4
    trainer.train_epoch(1)
    assert len(trainer._truncations) == 1  # one compiled call serves every epoch
    with pytest.raises(ValueError, match="tasks_per_step"):
        MetaTrainer(start, [a, b], horizon=3, unroll=3, tasks_per_step=3)
