"""The `keras-l2l` command line: `demo`, `evaluate` and `meta-train`."""

import argparse
import os
import shlex
import sys

from keras_l2l.evaluation import DEFAULT_BASELINES, demo, evaluate, load_rule, write_report
from keras_l2l.meta import command as meta_train
from keras_l2l.problems import get_problem


def _parser():
    parser = argparse.ArgumentParser(prog="keras-l2l", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo.add_parser(commands, os.environ.get("KERAS_L2L_DATA_DIR"))
    _add_evaluate(commands)
    meta_train.add_parser(commands)
    return parser


def _add_evaluate(commands):
    parser = commands.add_parser(
        "evaluate",
        help="compare a learned optimizer with tuned baselines over seeds",
        description="Writes OUT/results.json, OUT/report.md and OUT/curves.png.",
    )
    parser.add_argument(
        "--optimizer",
        required=True,
        help="'untrained', a shipped preset name, or a preset directory "
        "(config.json and weights.npz)",
    )
    parser.add_argument("--problem", required=True, help="a name from keras_l2l.problems.PROBLEMS")
    parser.add_argument("--steps", type=int, required=True, help="optimizee steps per run")
    parser.add_argument("--seeds", type=int, required=True, help="evaluate on seeds 0..K-1")
    parser.add_argument(
        "--baselines",
        default=",".join(DEFAULT_BASELINES),
        help="comma-separated subset of %(default)s",
    )
    parser.add_argument(
        "--tuning-seeds", type=int, default=3, help="seeds per learning-rate grid value"
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("KERAS_L2L_DATA_DIR"),
        help="offline dataset directory (default: $KERAS_L2L_DATA_DIR)",
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.set_defaults(run=_evaluate)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.run(args, argv)


def _evaluate(args, argv):
    rule, meta_params = load_rule(args.optimizer)
    problem = get_problem(args.problem, args.data_dir)
    baselines = [name.strip() for name in args.baselines.split(",") if name.strip()]
    results = evaluate(
        rule,
        meta_params,
        problem,
        args.steps,
        args.seeds,
        baselines=baselines,
        tuning_seeds=args.tuning_seeds,
    )
    out = write_report(results, args.out, "keras-l2l " + shlex.join(argv))
    print(f"Wrote {out / 'results.json'}, {out / 'report.md'} and {out / 'curves.png'}.")


if __name__ == "__main__":
    main()
