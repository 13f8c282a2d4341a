"""UpdateMonitor reports the step the optimizer really took, in logs and TensorBoard."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import LearnedOptimizer
from keras_l2l.callbacks import UpdateMonitor


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, x.sum(axis=1, keepdims=True)


def test_update_norm_and_ratio_match_the_weight_change():
    model = _model(LearnedOptimizer())
    x, y = _data()
    model.train_on_batch(x, y)  # builds; state now non-trivial
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    delta = np.concatenate([(a - b).ravel() for a, b in zip(model.get_weights(), before)])
    params = np.concatenate([w.ravel() for w in before])
    norm = float(model.optimizer.update_norm.numpy())
    assert norm > 0
    np.testing.assert_allclose(norm, np.linalg.norm(delta), rtol=1e-4)
    np.testing.assert_allclose(
        model.optimizer.update_ratio.numpy(), np.linalg.norm(delta) / np.linalg.norm(params), rtol=1e-4
    )


def test_logs_history_and_tensorboard_get_the_values(tmp_path):
    model = _model(LearnedOptimizer())
    x, y = _data()
    batch_logs = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batch_logs.append(dict(logs)))
    history = model.fit(
        x, y, batch_size=8, epochs=2, verbose=0,
        callbacks=[UpdateMonitor(), record, keras.callbacks.TensorBoard(str(tmp_path))],
    )
    assert all(log["update_norm"] > 0 and log["update_ratio"] > 0 for log in batch_logs)
    assert len(batch_logs) == 8
    epoch_two = np.mean([log["update_norm"] for log in batch_logs[4:]])
    np.testing.assert_allclose(history.history["update_norm"][1], epoch_two, rtol=1e-6)
    assert history.history["skipped_steps"] == [0, 0]
    tags = set()
    for path in tmp_path.rglob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            tags.update(value.tag for value in event.summary.value)
    assert {"epoch_update_norm", "epoch_update_ratio", "epoch_skipped_steps"} <= tags


def test_skipped_steps_are_counted_in_the_logs():
    model = _model(LearnedOptimizer())
    x, y = _data(16)
    y[3] = np.nan  # this batch's gradients are NaN
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[UpdateMonitor()])
    assert history.history["skipped_steps"] == [1]


def test_refuses_another_optimizer():
    model = _model("adam")
    x, y = _data(8)
    with pytest.raises(TypeError, match="LearnedOptimizer"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[UpdateMonitor()])
