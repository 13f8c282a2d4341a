"""`keras-l2l demo`: the shipped preset against tuned Adam and the other baselines."""

import shlex
import time

from keras_l2l import presets
from keras_l2l.evaluation.evaluate import DEFAULT_BASELINES, evaluate, load_rule
from keras_l2l.evaluation.report import markdown, write_report
from keras_l2l.problems import get_problem


def add_parser(commands, data_dir_default):
    parser = commands.add_parser(
        "demo",
        help="side-by-side: the default preset vs tuned Adam and baselines on the MNIST MLP",
        description="Offline without data, it falls back to the 10-d quadratic and says so.",
    )
    parser.add_argument("--preset", default=None,
                        help=f"default: {presets.DEFAULT_PRESET} (quadratic for the fallback)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tuning-seeds", type=int, default=2)
    parser.add_argument("--baselines", default=",".join(DEFAULT_BASELINES))
    parser.add_argument("--data-dir", default=data_dir_default,
                        help="offline dataset directory (default: $KERAS_L2L_DATA_DIR)")
    parser.add_argument("--out", default="keras_l2l_demo")
    parser.set_defaults(run=run)


def load_demo_problem(data_dir):
    """The MNIST MLP, or the data-free quadratic when MNIST cannot be had."""
    try:
        return get_problem("mnist", data_dir), presets.DEFAULT_PRESET
    except (FileNotFoundError, RuntimeError) as error:
        print(
            f"MNIST is not available ({error}).\nFalling back to the paper's 10-d quadratic, "
            "which needs no data. Set KERAS_L2L_DATA_DIR or pass --data-dir for MNIST."
        )
        return get_problem("quadratic"), "quadratic"


def run(args, argv):
    started = time.time()
    problem, preset = load_demo_problem(args.data_dir)
    preset = args.preset or preset
    print(f"Problem: {problem.name}; learned optimizer: preset {preset!r}.")
    rule, meta_params = load_rule(preset)
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    results = evaluate(rule, meta_params, problem, args.steps, args.seeds,
                       baselines=baselines, tuning_seeds=args.tuning_seeds)
    results["learned_preset"] = preset
    out = write_report(results, args.out, "keras-l2l " + shlex.join(argv))
    print("\n".join(line for line in markdown(results).splitlines() if line.startswith("|")))
    ratio = results.get("ratio_to_best_baseline")
    if ratio:
        lo, hi = ratio["ci95"]
        print(f"\nlearned / best tuned baseline ({ratio['baseline']}): "
              f"{ratio['mean']:.3g} (95% CI {lo:.3g} .. {hi:.3g}); below 1 means the learned "
              "optimizer reached a lower final loss.")
    print(f"Wrote {out / 'report.md'} and {out / 'curves.png'} in {time.time() - started:.0f} s.")
