"""`keras-l2l demo`: the shipped preset against tuned Adam and the other baselines."""

import time

from keras_l2l import presets
from keras_l2l.evaluation.evaluate import DEFAULT_BASELINES, evaluate, load_rule
from keras_l2l.evaluation.report import markdown, write_report
from keras_l2l.problems import get_problem


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


def run_demo(preset=None, steps=100, seeds=5, tuning_seeds=2, baselines=DEFAULT_BASELINES,
             data_dir=None, out="keras_l2l_demo", command="keras-l2l demo"):
    """Evaluate `preset` (default: the problem's own) against tuned baselines; write a report.

    Prints the results table and the learned / best-baseline ratio, and
    returns the results dict (see `evaluate`).
    """
    started = time.time()
    problem, default_preset = load_demo_problem(data_dir)
    preset = preset or default_preset
    print(f"Problem: {problem.name}; learned optimizer: preset {preset!r}.")
    results = evaluate(load_rule(preset), problem, steps, seeds, baselines=baselines,
                       tuning_seeds=tuning_seeds)
    out = write_report(results, out, command)
    print("\n".join(line for line in markdown(results).splitlines() if line.startswith("|")))
    ratio = results.get("ratio_to_best_baseline")
    if ratio:
        lo, hi = ratio["ci95"]
        print(f"\nlearned / best tuned baseline ({ratio['baseline']}): "
              f"{ratio['mean']:.3g} (95% CI {lo:.3g} .. {hi:.3g}); below 1 means the learned "
              "optimizer reached a lower final loss.")
    print(f"Wrote {out / 'report.md'} and {out / 'curves.png'} in {time.time() - started:.0f} s.")
    return results
