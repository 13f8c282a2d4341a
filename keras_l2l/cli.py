"""The `keras-l2l` command line: `demo`, `evaluate`, `meta-train`, `ablate` and `presets`.

The one module with argument parsers: each sub-command turns its flags into
a call of a plain package function, so everything here is also usable from Python.
"""

import argparse
import json
import os
import shlex
import sys

import keras

from keras_l2l import presets
from keras_l2l.evaluation import DEFAULT_BASELINES, evaluate, load_rule, write_report
from keras_l2l.evaluation import ablation
from keras_l2l.evaluation.journal import remove_journals
from keras_l2l.evaluation.demo import DEMO_BASELINES, DEMO_SEEDS, DEMO_STEPS, run_demo
from keras_l2l.evaluation.suite import SUITE_BASELINES, SUITES, check_settings, run_suite
from keras_l2l.evaluation.tuning import GRIDS
from keras_l2l.meta.export import meta_train_preset
from keras_l2l.problems import family, get_problem
from keras_l2l.rules import BASELINES, RULES, Adam, CoordinatewiseLSTM, deserialize_rule
from keras_l2l.trained_rule import TrainedRule


_LEARNED_RULES = [name for name, cls in RULES.items() if cls not in BASELINES.values()]


def problem_names(text):
    """The problem names of a comma-separated `--problem`, `family:N[:SEED]` expanded."""
    names = []
    for name in text.split(","):
        names += family.expand(name) if name.startswith(family.SPEC_PREFIX) else [name]
    return names


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.run(args, "keras-l2l " + shlex.join(argv))


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-l2l", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_demo, _add_evaluate, _add_meta_train, _add_ablate, _add_presets):
        add(commands)
    return parser


def _baselines(text):
    """A comma-separated baseline list, checked against `DEFAULT_BASELINES`."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(DEFAULT_BASELINES))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown baselines {unknown}; choose from {','.join(DEFAULT_BASELINES)}"
        )
    return names


def _fraction(text):
    """A fraction of a run, 0 < F <= 1 (`--baselines-anneal`)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction of the run in (0, 1], got {text!r}")
    return value


def _horizons(text):
    """Comma-separated positive step counts, e.g. 200,1000,5000."""
    try:
        horizons = [int(h) for h in text.split(",")]
    except ValueError:
        horizons = []
    if not horizons or min(horizons) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive step counts joined by commas, e.g. 200,1000; got {text!r}"
        )
    return horizons


def _names(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_data_dir(parser):
    parser.add_argument("--data-dir", default=os.environ.get("KERAS_L2L_DATA_DIR"),
                        help="offline dataset directory (default: $KERAS_L2L_DATA_DIR)")


def _add_evaluation_flags(parser, steps=None, seeds=None, tuning_seeds=3, out=None,
                          steps_type=int):
    """The flags `demo` and `evaluate` share; a None default makes a flag required."""
    for flag, kind, default, text in (
        ("--steps", steps_type, steps, "optimizee steps per run" + (
            "" if steps_type is int else "; with --suite, horizons joined by commas")),
        ("--seeds", int, seeds, "evaluate on seeds 0..K-1"),
        ("--tuning-seeds", int, tuning_seeds, "seeds per learning-rate grid value"),
    ):
        parser.add_argument(flag, type=kind, default=default, required=default is None,
                            help=text)
    parser.add_argument("--out", default=out, required=out is None, help="output directory")
    parser.add_argument("--baselines", type=_baselines, default=list(DEFAULT_BASELINES),
                        help=f"comma-separated subset of {','.join(DEFAULT_BASELINES)}")
    _add_data_dir(parser)


# -- demo ---------------------------------------------------------------------


def _add_demo(commands):
    parser = commands.add_parser(
        "demo",
        help="side-by-side: the default preset vs tuned Adam on the MNIST MLP, with a verdict",
        description="MNIST comes from --data-dir / $KERAS_L2L_DATA_DIR, else a Keras download, "
        "else (offline) the 4,000-image MNIST subset embedded in keras_l2l; the output says "
        "which. Defaults: preset general vs tuned Adam, 1,000 steps, 20 seeds (about 2-3 "
        "minutes on 2 cores). Verdict: win / loss only when the 95% CI of learned / Adam "
        "excludes 1.",
    )
    parser.add_argument("--preset", default=None,
                        help=f"default: {presets.DEFAULT_PRESET}")
    _add_evaluation_flags(parser, steps=DEMO_STEPS, seeds=DEMO_SEEDS, tuning_seeds=2,
                          out="keras_l2l_demo")
    parser.set_defaults(baselines=list(DEMO_BASELINES), run=lambda args, command: run_demo(
        args.preset, args.steps, args.seeds, args.tuning_seeds, args.baselines,
        args.data_dir, args.out, command,
    ))


# -- evaluate -----------------------------------------------------------------


def _add_evaluate(commands):
    parser = commands.add_parser(
        "evaluate",
        help="compare a learned optimizer with tuned baselines over seeds",
        description="With --problem, writes OUT/results.json, OUT/report.md and "
        "OUT/curves.png; with --suite, those for each task and horizon in "
        "OUT/<task>/<steps>/, and OUT/summary.json, summary.md and suite.png. "
        "Each finished run is journaled in the output directory until the results are "
        "written: rerun the same command to resume an interrupted evaluation.",
    )
    parser.add_argument("--optimizer", required=True,
                        help="'untrained', a shipped preset name, or a preset directory")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--problem", help="a name from keras_l2l.problems.PROBLEMS")
    target.add_argument("--suite", choices=sorted(SUITES), help="a held-out task suite")
    parser.add_argument("--tasks", type=_names, default=None,
                        help="with --suite: comma-separated subset of its tasks")
    parser.add_argument("--grid", choices=sorted(GRIDS), default="full",
                        help="learning-rate grid: full = 2^-12..2^0 in steps of 2^0.5, "
                        "coarse = steps of 2^1, wide = 2^-12..2^12 in steps of 2^1")
    parser.add_argument("--baselines-from", default=None, metavar="DIR",
                        help="reuse the tuned baselines of an earlier evaluation with the same "
                        "settings (its --out) instead of tuning and running them again; only "
                        "the learned optimizer runs")
    parser.add_argument("--baselines-anneal", type=_fraction, default=None, metavar="F",
                        help="give every baseline a learning rate falling linearly to 0 over "
                        "the run's last F (0 < F <= 1), tuned as such: the tail of a learned "
                        "rule with anneal_fraction=F, so its gain is not credited to the rule")
    parser.add_argument("--tune-learned", action="store_true",
                        help="also run the learned optimizer with its step multiplier "
                        "(LearnedOptimizer's learning_rate) tuned like the baselines' rates, "
                        "over 2^-2..2^2, as `learned_tuned`: compared with the same tuning "
                        "budget; `learned` stays as trained")
    _add_evaluation_flags(parser, steps_type=_horizons)
    parser.set_defaults(run=_evaluate, baselines=None, parser=parser)


def _evaluate(args, command):
    if args.suite is not None:
        return _evaluate_suite(args, command)
    if args.tasks is not None:
        args.parser.error("--tasks needs --suite")
    if len(args.steps) != 1:
        args.parser.error("--problem takes one --steps value; several horizons need --suite")
    results = evaluate(
        load_rule(args.optimizer), get_problem(args.problem, args.data_dir), args.steps[0],
        args.seeds, baselines=args.baselines or DEFAULT_BASELINES,
        tuning_seeds=args.tuning_seeds, grid=GRIDS[args.grid], journal_dir=args.out,
        baselines_from=args.baselines_from, baselines_anneal=args.baselines_anneal,
        tune_learned=args.tune_learned,
    )
    out = write_report(results, args.out, command)
    remove_journals(out)
    print(f"Wrote {out / 'results.json'}, {out / 'report.md'} and {out / 'curves.png'}.")


def _evaluate_suite(args, command):
    baselines = args.baselines or SUITE_BASELINES
    try:
        check_settings(args.suite, args.tasks, args.steps, baselines, args.grid)
    except ValueError as error:
        args.parser.error(str(error))
    run_suite(
        load_rule(args.optimizer), args.out, args.steps, args.seeds, suite=args.suite,
        tasks=args.tasks, baselines=baselines, tuning_seeds=args.tuning_seeds, grid=args.grid,
        data_dir=args.data_dir, command=command, baselines_from=args.baselines_from,
        baselines_anneal=args.baselines_anneal, tune_learned=args.tune_learned,
    )
    print(f"Wrote {args.out}/summary.json, summary.md and suite.png.")


# -- meta-train ---------------------------------------------------------------


def _add_meta_train(commands):
    parser = commands.add_parser(
        "meta-train", help="meta-train a learned optimizer and export it as a preset"
    )
    add = parser.add_argument
    add("--problem", default="mnist",
        help="problem name, or several comma-separated for a mixture; family:N[:SEED[:KINDS]] "
             "stands for N tasks of the meta-training family (keras_l2l.problems.family)")
    add("--epochs", type=int, default=1000, help="optimizee runs in total")
    add("--horizon", type=_horizons, default=[100],
        help="steps per run; several comma-separated: each run's length is drawn from them "
             "(and told to rules with horizon features)")
    add("--curriculum", type=_horizons, default=None,
        help="comma-separated increasing horizons, e.g. 100,200,500,1000; --epochs is then per stage")
    add("--unroll", type=int, default=20)
    add("--tasks-per-step", type=int, default=1,
        help="problems run together in each meta-step (fixed consecutive groups of --problem)")
    add("--lr", type=float, default=1e-3, help="meta learning rate (Adam)")
    add("--seed", type=int, default=0)
    add("--out", required=True, help="preset directory to write")
    add("--checkpoint-dir", default=None,
        help="default: runs/<name of --out>; rerun the same command to resume")
    add("--log-dir", default=None, help="TensorBoard directory")
    add("--init-from", default=None, help="start from this preset's weights")
    add("--meta-loss", default="uniform", choices=["uniform", "final", "exponential"])
    add("--log-loss", action="store_true")
    add("--second-order", action="store_true")
    add("--clip-norm", type=float, default=None)
    add("--random-scaling", type=float, default=0.0,
        help="r > 0: each run optimizes f(c * theta), c = exp(U(-r, r)) per coordinate")
    add("--imitation-prob", type=float, default=0.0,
        help="probability that a run imitates Adam's steps instead")
    add("--imitation-lr", type=float, default=0.01, help="the imitated Adam's rate")
    add("--unknown-horizon-prob", type=float, default=0.0,
        help="fraction of runs whose length the rule is not told (horizon features read 0)")
    add("--validation-every", type=int, default=50)
    add("--validation-runs", type=int, default=10)
    add("--validation-metric", default="mean", choices=["mean", "final"])
    add("--validation-horizon", type=_horizons, default=None,
        help="validation run length(s), comma-separated (default: the longest --horizon)")
    add("--rule", default="CoordinatewiseLSTM", choices=sorted(_LEARNED_RULES),
        help="the rule family; --units .. --output-scale configure CoordinatewiseLSTM")
    add("--rule-config", type=json.loads, default=None,
        help="JSON constructor arguments of --rule, e.g. '{\"base_learning_rate\": 0.003}'; "
             "with --init-from, changes to the preset rule's config, e.g. "
             "'{\"horizon_features\": true}'")
    add("--cell", default="lstm", choices=["lstm", "gru", "mlp"],
        help="CoordinatewiseLSTM's recurrent cell (gru, or a memoryless mlp, for ablations)")
    add("--units", type=int, default=20)
    add("--layers", type=int, default=2)
    add("--preprocessing", default="log_sign")
    add("--preprocessing-p", type=float, default=10.0)
    add("--output-scale", type=float, default=0.1)
    add("--description", default="")
    _add_data_dir(parser)
    parser.set_defaults(run=_meta_train)


def _meta_train(args, command):
    keras.utils.set_random_seed(args.seed)
    if args.init_from:
        start = TrainedRule.from_preset(args.init_from)
        if args.rule_config:
            start = start.reconfigured(**args.rule_config)
    elif args.rule_config is not None or args.rule != "CoordinatewiseLSTM":
        rule = deserialize_rule({"class_name": args.rule, "config": args.rule_config or {}})
        start = TrainedRule.untrained(rule, seed=args.seed)
    else:
        start = TrainedRule.untrained(CoordinatewiseLSTM(
            units=args.units, num_layers=args.layers, preprocessing=args.preprocessing,
            preprocessing_p=args.preprocessing_p, output_scale=args.output_scale, cell=args.cell,
        ), seed=args.seed)
    trained = meta_train_preset(
        start, [get_problem(name, args.data_dir) for name in problem_names(args.problem)],
        args.out, args.epochs, horizon=args.horizon[0] if len(args.horizon) == 1 else args.horizon,
        curriculum=args.curriculum, validation_horizon=args.validation_horizon,
        checkpoint_dir=args.checkpoint_dir or os.path.join("runs", os.path.basename(args.out)),
        provenance={"command": command, "description": args.description,
                    "problem": args.problem, "meta_learning_rate": args.lr},
        meta_learning_rate=args.lr, unroll=args.unroll,
        meta_loss=args.meta_loss, log_loss=args.log_loss, second_order=args.second_order,
        clip_norm=args.clip_norm, random_scaling=args.random_scaling,
        imitation_prob=args.imitation_prob, imitation_rule=Adam(args.imitation_lr),
        validation_every=args.validation_every, validation_runs=args.validation_runs,
        validation_metric=args.validation_metric, log_dir=args.log_dir, seed=args.seed,
        tasks_per_step=args.tasks_per_step, unknown_horizon_prob=args.unknown_horizon_prob,
    )
    best = trained.provenance["best_validation_loss"]
    print(f"Saved preset to {args.out} (best validation loss {best}).")


# -- ablate -------------------------------------------------------------------


def _add_ablate(commands):
    parser = commands.add_parser(
        "ablate",
        help="meta-train and evaluate one-factor variants of the paper's LSTM (cell, depth, "
             "width, preprocessing, second derivatives, meta-loss)",
        description="Writes OUT/summary.json, summary.md (one table) and ablations.png (one "
        "plot); rerun the same command to resume, or with other --problems to add to OUT.",
    )
    add = parser.add_argument
    add("--out", required=True, help="output directory")
    add("--problems", type=_names, default=["quadratic"],
        help=f"comma-separated subset of {','.join(ablation.PROBLEMS)}")
    add("--variants", type=_names, default=None,
        help=f"comma-separated subset of {','.join(ablation.VARIANTS)} (default: all)")
    add("--epochs", type=int, required=True, help="meta-training runs per variant (the budget)")
    add("--seeds", type=int, default=20, help="evaluate on seeds 0..K-1")
    add("--baselines", type=_baselines, default=["adam"],
        help="tuned baselines evaluated with the base rule")
    add("--tuning-seeds", type=int, default=3)
    add("--grid", choices=sorted(GRIDS), default="full")
    add("--lr", type=float, default=1e-3, help="meta learning rate (Adam)")
    add("--validation-every", type=int, default=50)
    add("--validation-runs", type=int, default=10)
    add("--seed", type=int, default=0)
    _add_data_dir(parser)
    parser.set_defaults(run=_ablate, parser=parser)


def _ablate(args, command):
    keras.utils.set_random_seed(args.seed)
    try:
        ablation.check_names(args.problems, args.variants)
    except ValueError as error:
        args.parser.error(str(error))
    ablation.ablate(
        args.out, args.problems, args.epochs, args.seeds, variants=args.variants,
        baselines=args.baselines, tuning_seeds=args.tuning_seeds, grid=args.grid,
        learning_rate=args.lr, validation_every=args.validation_every,
        validation_runs=args.validation_runs, seed=args.seed, data_dir=args.data_dir,
        command=command,
    )
    print(f"Wrote {args.out}/summary.json, summary.md and ablations.png.")


# -- presets ------------------------------------------------------------------


def _add_presets(commands):
    parser = commands.add_parser("presets", help="list the shipped presets with their metadata")
    parser.add_argument("--json", action="store_true", help="print the listing as JSON")
    parser.set_defaults(run=_presets)


def _presets(args, command):
    listing = presets.list_presets()
    if args.json:
        print(json.dumps(listing, indent=2))
        return
    for name, info in listing.items():
        default = " (default)" if name == presets.DEFAULT_PRESET else ""
        alias = f" = {info['alias_of']}" if info["alias_of"] else ""
        rule = info["architecture"]
        print(f"{name}{default}{alias}: {rule['class_name']} {json.dumps(rule['config'])}")
        print(f"  trained on {info['problem']} at horizon {info['horizon']}: {info['description']}")
        if info["headline"]:
            print(f"  measured: {info['headline']}")


if __name__ == "__main__":
    main()
