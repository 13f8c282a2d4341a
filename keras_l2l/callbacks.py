"""Callbacks for `LearnedOptimizer`: `UpdateMonitor` (what it is doing, in `fit`'s logs) and
`TrainingLength` (telling it how long `fit` will run)."""

import keras

from keras_l2l.optimizer import LearnedOptimizer


class TrainingLength(keras.callbacks.Callback):
    """Tells the learned optimizer how many steps `fit` will run (epochs x steps per epoch).

    For rules that read the run's length (`HierarchicalLSTM` with `horizon_features=True`
    or `anneal_fraction`): they plan their step sizes over it. Without it the length is
    unknown to them.

    Example:
        model.fit(x, y, epochs=5, callbacks=[keras_l2l.callbacks.TrainingLength()])
    """

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if not isinstance(optimizer, LearnedOptimizer):
            raise TypeError(
                "TrainingLength tells a keras_l2l.LearnedOptimizer the run's length, but the "
                f"model was compiled with {type(optimizer).__name__}. Drop the callback."
            )
        epochs, steps = self.params.get("epochs"), self.params.get("steps")
        if not epochs or not steps:
            raise ValueError(
                "TrainingLength needs the number of steps per epoch, which `fit` does not know "
                "for this dataset (unknown cardinality). Pass `steps_per_epoch` to `fit`, or "
                "set it yourself: `optimizer.set_total_steps(n)`."
            )
        optimizer.set_total_steps(int(epochs) * int(steps))


class UpdateMonitor(keras.callbacks.Callback):
    """Adds the learned optimizer's step size and skipped steps to `fit`'s logs.

    A learned rule chooses its own step size, so this is the one thing to
    watch: each batch's logs get `update_norm` (global L2 norm of the update
    just applied), `update_ratio` (that norm over the parameters' norm; Adam
    at its usual rates is around 1e-3 .. 1e-2) and `skipped_steps` (steps
    left out because a gradient was not finite, so far). The progress bar
    shows them as epoch means; the epoch's logs, `History` and a
    `keras.callbacks.TensorBoard` listed *after* this callback get the epoch
    means (and, with TensorBoard's `update_freq`, the batch values).

    Example:
        model.fit(x, y, callbacks=[keras_l2l.callbacks.UpdateMonitor(),
                                   keras.callbacks.TensorBoard("logs")])
    """

    def on_train_begin(self, logs=None):
        if not isinstance(self.model.optimizer, LearnedOptimizer):
            raise TypeError(
                "UpdateMonitor watches a keras_l2l.LearnedOptimizer, but the model was "
                f"compiled with {type(self.model.optimizer).__name__}. Compile with "
                "LearnedOptimizer or drop the callback."
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._sums = {"update_norm": 0.0, "update_ratio": 0.0}
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        values = self._current()
        for key in self._sums:
            self._sums[key] += values[key]
        self._batches += 1
        if logs is not None:
            logs.update(values)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self._batches:
            return
        logs.update({key: total / self._batches for key, total in self._sums.items()})
        logs["skipped_steps"] = self._current()["skipped_steps"]

    def _current(self):
        optimizer = self.model.optimizer
        return {
            "update_norm": float(optimizer.update_norm.numpy()),
            "update_ratio": float(optimizer.update_ratio.numpy()),
            "skipped_steps": int(optimizer.skipped_steps.numpy()),
        }
