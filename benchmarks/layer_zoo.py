"""`model.fit` of Keras' layer zoo with a learned optimizer, next to Adam at its default rate.

    python benchmarks/layer_zoo.py [--preset general] [--epochs 3] [--seeds 3] [--out results/layer_zoo]
                                   [--training-length]

What a Keras user does: compile a model with `LearnedOptimizer.from_preset(...)`
or with `keras.optimizers.Adam()` (rate 1e-3, no tuning) and call `fit`. The
models are the held-out suite's (conv + batch norm + dropout, LSTM, embedding
+ GRU, attention block, two-input functional model), trained here by Keras
itself: batch-norm moving statistics, dropout, `evaluate` in inference mode.
Reports per model: the epoch losses `fit` prints, whether they fall every
epoch, and the final training-set loss from `evaluate`, learned / Adam.
Issue 11's target: loss falls every epoch, final ratio <= 1.1. With
`--training-length` the learned optimizer's `fit` gets the `TrainingLength`
callback, so a preset that plans over the run's length (`anneal_fraction`) knows it.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_l2l import LearnedOptimizer  # noqa: E402
from keras_l2l.callbacks import TrainingLength  # noqa: E402
from keras_l2l.problems.suite_tasks import build_task  # noqa: E402

ZOO = ("mnist-conv-bn-dropout", "fashion-rows-lstm", "tokens-embedding-gru",
       "mnist-patch-transformer", "fashion-two-input")
TARGET_RATIO = 1.1


def keras_loss(problem):
    """The problem's per-example loss with Keras' usual mean reduction, for `compile`."""
    loss = problem.loss_fn
    if isinstance(loss, keras.losses.Loss):
        return type(loss).from_config(dict(loss.get_config(), reduction="sum_over_batch_size"))
    return loss


def fit_once(problem, make_optimizer, epochs, seed, callbacks=()):
    """`(epoch losses from fit, final training-set loss from evaluate)` of one run."""
    keras.utils.set_random_seed(seed)
    model = keras.models.clone_model(problem.model)
    model.compile(optimizer=make_optimizer(), loss=keras_loss(problem))
    x, y = problem.inputs(problem.x_train.numpy()), problem.y_train.numpy()
    history = model.fit(x, y, batch_size=problem.batch_size, epochs=epochs, verbose=0,
                        callbacks=list(callbacks))
    final = model.evaluate(x, y, batch_size=512, verbose=0)
    return history.history["loss"], float(final)


def run_task(name, preset, epochs, seeds, data_dir, training_length=False):
    problem = build_task(name, data_dir)
    callbacks = {"learned": [TrainingLength()] if training_length else [], "adam": []}
    optimizers = {"learned": lambda: LearnedOptimizer.from_preset(preset),
                  "adam": lambda: keras.optimizers.Adam()}
    runs = {label: [fit_once(problem, make, epochs, seed, callbacks[label])
                    for seed in range(seeds)]
            for label, make in optimizers.items()}
    finals = {label: [final for _, final in r] for label, r in runs.items()}
    ratio = float(np.mean(finals["learned"]) / np.mean(finals["adam"]))
    falls = [bool(np.all(np.diff(losses) < 0)) for losses, _ in runs["learned"]]
    return {
        "task": name,
        "epoch_losses": {label: [losses for losses, _ in r] for label, r in runs.items()},
        "final_loss": {label: float(np.mean(v)) for label, v in finals.items()},
        "final_per_seed": finals,
        "ratio_to_adam": ratio,
        "falls_every_epoch": all(falls),
        "diverged": not all(np.isfinite(finals["learned"])),
        "meets_target": all(falls) and ratio <= TARGET_RATIO,
    }


def markdown(results, command):
    lines = [
        f"# `model.fit` of the layer zoo: preset `{results['preset']}` vs Adam (rate 1e-3)",
        "",
        f"{results['epochs']} epochs, seeds 0..{results['seeds'] - 1}"
        f"{'; learned with the TrainingLength callback' if results.get('training_length') else ''}"
        "; final loss = "
        "`model.evaluate` on the training data (inference mode), mean over seeds. "
        f"Target: learned loss falls every epoch and ends <= {TARGET_RATIO}x Adam.",
        "",
        "| model | learned final | Adam final | learned / Adam | falls every epoch | target |",
        "|---|---|---|---|---|---|",
    ]
    for r in results["tasks"]:
        lines.append(
            f"| {r['task']} | {r['final_loss']['learned']:.4g} | {r['final_loss']['adam']:.4g} "
            f"| {r['ratio_to_adam']:.3g} | {'yes' if r['falls_every_epoch'] else 'no'} "
            f"| {'met' if r['meets_target'] else 'not met'} |"
        )
    return "\n".join(lines + ["", f"Command: `{command}`", ""])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="general")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(ZOO))
    parser.add_argument("--data-dir", default=os.environ.get("KERAS_L2L_DATA_DIR"))
    parser.add_argument("--out", default="results/layer_zoo")
    parser.add_argument("--training-length", action="store_true",
                        help="give the learned optimizer's fit the TrainingLength callback")
    args = parser.parse_args(argv)
    results = {"preset": args.preset, "epochs": args.epochs, "seeds": args.seeds,
               "training_length": args.training_length, "tasks": []}
    for name in args.tasks.split(","):
        print(f"layer zoo: {name}", flush=True)
        results["tasks"].append(run_task(name, args.preset, args.epochs, args.seeds,
                                         args.data_dir, args.training_length))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    (out / "report.md").write_text(markdown(results, command))
    print(markdown(results, command))


if __name__ == "__main__":
    main()
