"""Meta-train from a starting `TrainedRule` and export the result as a preset with provenance."""

import subprocess
import time
from pathlib import Path

import keras

import keras_l2l
from keras_l2l import presets
from keras_l2l.meta.curriculum import train_curriculum
from keras_l2l.meta.trainer import MetaTrainer


def git_hash():
    """The commit of the source tree, or "unknown" outside a git checkout."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def meta_train_preset(start, problems, out, epochs, horizon=100, curriculum=None,
                      validation_horizon=None, meta_learning_rate=1e-3, checkpoint_dir=None, provenance=None,
                      **trainer_kwargs):
    """Meta-train `start` on `problems`, save the best rule as preset `out`, return it.

    With `curriculum` (increasing horizons) `epochs` is per stage; otherwise
    one trainer runs `epochs` runs of `horizon` steps (a list: of lengths drawn from it). Each trainer gets a
    fresh Adam at `meta_learning_rate`; `trainer_kwargs` go to every `MetaTrainer`; `provenance` (e.g. the command line) is recorded
    with the trainer's own (epochs, best validation loss, seed, ...), the
    package version, git hash, and wall-clock time and CPU-hours (all threads)
    of this call; a resumed run records only its own session's.
    """
    started, cpu_started = time.time(), time.process_time()

    def make_trainer(start, horizon, checkpoint_dir, validation_horizon=validation_horizon):
        return MetaTrainer(
            start, problems, horizon=horizon, checkpoint_dir=checkpoint_dir,
            validation_horizon=validation_horizon,
            meta_optimizer=keras.optimizers.Adam(meta_learning_rate), **trainer_kwargs,
        )

    if curriculum:
        trainer = train_curriculum(make_trainer, start, curriculum, epochs, checkpoint_dir)[-1]
    else:
        trainer = make_trainer(start, horizon, checkpoint_dir)
        trainer.fit(epochs)
    trained = trainer.trained_rule({
        **(provenance or {}),
        "seconds_this_session": round(time.time() - started, 1),
        "cpu_hours_this_session": round((time.process_time() - cpu_started) / 3600, 6),
        "package_version": keras_l2l.__version__,
        "git_hash": git_hash(),
    })
    presets.save_preset(out, trained)
    return trained
