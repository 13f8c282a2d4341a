"""A training run that SIGKILLs itself part-way, for the tests in test_reliability.py.

    python tests/killable_fit.py WORKDIR [--kill-fit EPOCH BATCH] [--kill-meta EPOCH]

Phase 1, `model.fit` of a tiny MLP with a `LearnedOptimizer` and
`keras.callbacks.BackupAndRestore(WORKDIR/backup, save_freq="epoch")`; writes
`WORKDIR/fit_result.npz` when complete and is skipped if that file exists.
`--kill-fit E B` sends SIGKILL to this process right after batch B of epoch E.

Phase 2, a tiny `MetaTrainer` on a 3-d quadratic with a checkpoint every
epoch in `WORKDIR/meta_ckpt`; writes `WORKDIR/meta_result.npz`.
`--kill-meta E` sends SIGKILL right after epoch E (its checkpoint is written).

Rerunning the same command without the kill flags resumes. Everything is
deterministic (fixed data, seeded initializers, no shuffling), so the tests
compare the results with uninterrupted runs of `run_fit` / `run_meta` done in
their own process.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

FIT_EPOCHS, STEPS_PER_EPOCH, BATCH_SIZE = 3, 4, 4
META_EPOCHS = 5


def _kill_self():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def fit_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS_PER_EPOCH * BATCH_SIZE, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1).astype(np.float32)
    return x, y


def make_model():
    import keras

    from keras_l2l import LearnedOptimizer

    init = keras.initializers.GlorotUniform
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="tanh", kernel_initializer=init(1)),
            keras.layers.Dense(1, kernel_initializer=init(2)),
        ]
    )
    optimizer = LearnedOptimizer(learning_rate=0.5, units=4, num_layers=2, seed=3)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def run_fit(backup_dir=None, kill_at=None):
    """Fit to the end (resuming from `backup_dir`); `(weights, optimizer values, steps run)`."""
    import keras

    class Watch(keras.callbacks.Callback):
        epoch, steps = 0, 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if kill_at is not None and (self.epoch, batch) == tuple(kill_at):
                _kill_self()

    model = make_model()
    watch = Watch()
    callbacks = [watch]
    if backup_dir is not None:  # the backup callback runs before the killer
        callbacks.insert(0, keras.callbacks.BackupAndRestore(str(backup_dir), save_freq="epoch"))
    x, y = fit_data()
    model.fit(
        x, y, batch_size=BATCH_SIZE, epochs=FIT_EPOCHS, shuffle=False, verbose=0,
        callbacks=callbacks,
    )
    return model.get_weights(), [v.numpy() for v in model.optimizer.variables], watch.steps


def make_trainer(checkpoint_dir=None):
    import keras

    from keras_l2l import LearnedOptimizer, MetaTrainer
    from keras_l2l.problems.quadratic import Quadratic

    optimizer = LearnedOptimizer(
        units=4, num_layers=1, preprocessing="clamped_log_sign", preprocessing_p=5.0,
        output_scale=0.01, seed=5,
    )
    return MetaTrainer(
        optimizer, Quadratic(dim=3), horizon=4, unroll=2,
        meta_optimizer=keras.optimizers.Adam(1e-2), validation_every=2, validation_runs=1,
        checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir),
        checkpoint_every=1, seed=0,
    )


def run_meta(checkpoint_dir=None, kill_after=None):
    """Meta-train to the end (resuming); `(meta-weights, best validation, first epoch run)`."""

    class Killer:
        def on_epoch_end(self, epoch, logs):
            if epoch == kill_after:
                _kill_self()

    trainer = make_trainer(checkpoint_dir)
    start = int(trainer.epoch.numpy())
    trainer.fit(META_EPOCHS, callbacks=[Killer()], verbose=0)
    assert int(trainer.epoch.numpy()) == META_EPOCHS
    return trainer.optimizer.get_meta_weights(), float(trainer.best_validation.numpy()), start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--kill-fit", type=int, nargs=2, metavar=("EPOCH", "BATCH"))
    parser.add_argument("--kill-meta", type=int, metavar="EPOCH")
    args = parser.parse_args(argv)

    import keras

    keras.utils.set_random_seed(0)
    fit_file = args.workdir / "fit_result.npz"
    if not fit_file.exists():
        weights, opt_values, steps = run_fit(args.workdir / "backup", args.kill_fit)
        arrays = {f"weight{i}": w for i, w in enumerate(weights)}
        arrays.update({f"opt{i}": v for i, v in enumerate(opt_values)})
        np.savez(fit_file, steps=steps, **arrays)
        print(f"fit done ({steps} steps in this process)")
    meta, best, start = run_meta(args.workdir / "meta_ckpt", args.kill_meta)
    np.savez(args.workdir / "meta_result.npz", best_validation=best, start=start, **meta)
    print(f"meta-training done (epochs {start}..{META_EPOCHS - 1} in this process)")


if __name__ == "__main__":
    main()
