"""Running a rule in chunks gives the unchunked step (to float32 rounding): the paper's
coordinatewise LSTM (`mnist`), and `HierarchicalLSTM` (`general`), whose coordinates meet
in per-variable sums that chunks straddle (and, with `correction_gate_rms`, gate the
direction correction by them: `gated`, a C large enough to act from the first step, with
the correction also centered and faded after step 2, so each variable's row carries both
d(0) and the gate)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import LearnedOptimizer, TrainedRule


def _train(chunk_size, jit_compile=False, preset="mnist"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)]
    )
    frozen = keras.Variable(np.ones((3,), np.float32), name="no_gradient")
    if preset == "gated":
        preset = TrainedRule.from_preset("general-v3").reconfigured(
            correction_gate_rms=10.0, correction_centered=True, correction_fade_after=2)
    optimizer = LearnedOptimizer.from_preset(preset, chunk_size=chunk_size)
    variables = model.trainable_variables + [frozen]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype(np.float32)

    @tf.function(jit_compile=jit_compile)
    def step(x, poison):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x))) * poison
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads + [None], variables)  # one variable gets no gradient

    for i in range(5):
        step(x, np.float32(np.nan if i == 2 else 1.0))  # step 2 is skipped
    state = [np.array(v.numpy()) for v in optimizer.variables]
    return [np.array(v.numpy()) for v in variables], state, int(optimizer.skipped_steps.numpy())


@pytest.mark.parametrize("preset", ["mnist", "general", "gated"])
@pytest.mark.parametrize("chunk_size", [1, 7, 16])
def test_chunked_update_equals_one_call(chunk_size, preset):
    weights, state, skipped = _train(None, preset=preset)
    chunked_weights, chunked_state, chunked_skipped = _train(chunk_size, preset=preset)
    assert skipped == chunked_skipped == 1
    for a, b in zip(weights + state, chunked_weights + chunked_state):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)  # matmul blocking differs


def test_xla_step_runs_unchunked_with_the_same_result():
    weights, _, _ = _train(7)
    xla_weights, _, _ = _train(7, jit_compile=True)
    for a, b in zip(weights, xla_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_chunk_size_is_checked_and_saved():
    with pytest.raises(ValueError, match="chunk_size"):
        LearnedOptimizer(chunk_size=0)
    config = LearnedOptimizer(chunk_size=99).get_config()
    assert LearnedOptimizer.from_config(config).chunk_size == 99
