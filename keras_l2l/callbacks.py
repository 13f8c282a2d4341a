"""`UpdateMonitor`: what the learned optimizer is doing, in `fit`'s logs."""

import keras

from keras_l2l.optimizer import LearnedOptimizer


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
