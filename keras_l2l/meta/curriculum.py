"""Curriculum over horizons (Chen et al. 2020): short runs first, then longer ones."""

import os


def train_curriculum(make_trainer, start, horizons, epochs_per_stage, checkpoint_dir=None,
                     **fit_kwargs):
    """Meta-train stage by stage on increasing `horizons`, each from the last stage's result.

    `make_trainer(start, horizon=..., validation_horizon=..., checkpoint_dir=...)`
    returns a `MetaTrainer` starting from the `TrainedRule` `start`. Each stage
    is validated on the next-longer horizon (the last on twice its own) and
    ends with its best meta-parameters restored; its `trained_rule()` starts
    the next stage. Each stage checkpoints in its own directory, so rerunning
    resumes where it stopped. Returns the list of stage trainers.
    """
    horizons = [int(h) for h in horizons]
    if horizons != sorted(set(horizons)):
        raise ValueError(f"Curriculum horizons must increase strictly, got {horizons}.")
    trainers = []
    for i, horizon in enumerate(horizons):
        validation_horizon = horizons[i + 1] if i + 1 < len(horizons) else 2 * horizon
        stage_dir = None
        if checkpoint_dir:
            stage_dir = os.path.join(checkpoint_dir, f"stage{i}_horizon{horizon}")
        trainer = make_trainer(
            start, horizon=horizon, validation_horizon=validation_horizon, checkpoint_dir=stage_dir
        )
        trainer.fit(epochs_per_stage, restore_best=True, **fit_kwargs)
        trainers.append(trainer)
        start = trainer.trained_rule()
    return trainers
