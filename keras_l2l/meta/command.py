"""`keras-l2l meta-train`: meta-train a rule and export it as a preset with provenance."""

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import keras

import keras_l2l
from keras_l2l import presets
from keras_l2l.meta.curriculum import train_curriculum
from keras_l2l.meta.trainer import MetaTrainer
from keras_l2l.problems import get_problem
from keras_l2l.rules import Adam


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "meta-train", help="meta-train a learned optimizer and export it as a preset"
    )
    parser.add_argument("--problem", default="mnist",
                        help="problem name, or several comma-separated for a mixture")
    parser.add_argument("--epochs", type=int, default=1000, help="optimizee runs in total")
    parser.add_argument("--horizon", type=int, default=100)
    parser.add_argument("--curriculum", default=None,
                        help="comma-separated increasing horizons, e.g. 100,200,500,1000; "
                             "--epochs is then per stage")
    parser.add_argument("--unroll", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-3, help="meta learning rate (Adam)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="preset directory to write")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--checkpoint-dir", default=None,
                        help="default: runs/<name of --out>; rerun the same command to resume")
    parser.add_argument("--log-dir", default=None, help="TensorBoard directory")
    parser.add_argument("--init-from", default=None, help="start from this preset's weights")
    parser.add_argument("--meta-loss", default="uniform", choices=["uniform", "final", "exponential"])
    parser.add_argument("--log-loss", action="store_true")
    parser.add_argument("--second-order", action="store_true")
    parser.add_argument("--clip-norm", type=float, default=None)
    parser.add_argument("--random-scaling", type=float, default=0.0,
                        help="r > 0: each run optimizes f(c * theta), c = exp(U(-r, r)) per coordinate")
    parser.add_argument("--imitation-prob", type=float, default=0.0,
                        help="probability that a run imitates Adam's steps instead")
    parser.add_argument("--imitation-lr", type=float, default=0.01, help="the imitated Adam's rate")
    parser.add_argument("--validation-every", type=int, default=50)
    parser.add_argument("--validation-runs", type=int, default=10)
    parser.add_argument("--validation-metric", default="mean", choices=["mean", "final"])
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--preprocessing", default="log_sign")
    parser.add_argument("--preprocessing-p", type=float, default=10.0)
    parser.add_argument("--output-scale", type=float, default=0.1)
    parser.add_argument("--description", default="")
    parser.set_defaults(run=run)
    return parser


def git_hash():
    """The commit of the source tree, or "unknown" outside a git checkout."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build_optimizer(args):
    if args.init_from:
        return keras_l2l.LearnedOptimizer.from_preset(args.init_from)
    return keras_l2l.LearnedOptimizer(
        units=args.units, num_layers=args.layers, preprocessing=args.preprocessing,
        preprocessing_p=args.preprocessing_p, output_scale=args.output_scale, seed=args.seed,
    )


def run(args, argv=None):
    keras.utils.set_random_seed(args.seed)
    problems = [get_problem(name, args.data_dir) for name in args.problem.split(",")]
    optimizer = build_optimizer(args)
    checkpoint_dir = args.checkpoint_dir or os.path.join("runs", Path(args.out).name)

    def make_trainer(horizon, checkpoint_dir, validation_horizon=None):
        return MetaTrainer(
            optimizer, problems, horizon=horizon, unroll=args.unroll,
            meta_optimizer=keras.optimizers.Adam(args.lr), meta_loss=args.meta_loss,
            log_loss=args.log_loss, second_order=args.second_order, clip_norm=args.clip_norm,
            random_scaling=args.random_scaling, imitation_prob=args.imitation_prob,
            imitation_rule=Adam(args.imitation_lr), validation_every=args.validation_every,
            validation_runs=args.validation_runs, validation_horizon=validation_horizon,
            validation_metric=args.validation_metric, checkpoint_dir=checkpoint_dir,
            log_dir=args.log_dir, seed=args.seed,
        )

    started = time.time()
    if args.curriculum:
        horizons = [int(h) for h in args.curriculum.split(",")]
        trainer = train_curriculum(make_trainer, horizons, args.epochs, checkpoint_dir)[-1]
    else:
        trainer = make_trainer(args.horizon, checkpoint_dir)
        trainer.fit(args.epochs)
    history = trainer.history
    command = "keras-l2l " + shlex.join(argv if argv is not None else sys.argv[1:])
    provenance = {
        "command": command,
        "description": args.description,
        "problem": args.problem,
        "horizon": int(args.curriculum.split(",")[-1]) if args.curriculum else args.horizon,
        "unroll": args.unroll,
        "seed": args.seed,
        "epochs": int(trainer.epoch.numpy()),
        "meta_learning_rate": args.lr,
        "best_validation_loss": float(trainer.best_validation.numpy()),
        "final_meta_loss": history["meta_loss"][-1] if history.get("meta_loss") else None,
        "skipped_meta_steps": int(trainer.skipped_meta_steps.numpy()),
        "seconds_this_session": round(time.time() - started, 1),
        "package_version": keras_l2l.__version__,
        "git_hash": git_hash(),
    }
    presets.save_preset(args.out, optimizer.rule.get_config(), optimizer.get_meta_weights(), provenance)
    print(f"Saved preset to {args.out} (best validation loss {provenance['best_validation_loss']:.5g}).")
