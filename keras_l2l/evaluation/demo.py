"""`keras-l2l demo`: the default preset against tuned Adam on the MNIST MLP, with a verdict.

The data come from `--data-dir` / ``KERAS_L2L_DATA_DIR`` (full MNIST), else a Keras
download (full MNIST), else the 4,000 + 1,000 image MNIST subset embedded in the
package (`keras_l2l.datasets.load_embedded_mnist`); the output says which.
"""

import math
import time

from keras_l2l import datasets, presets
from keras_l2l.evaluation import stats
from keras_l2l.evaluation.evaluate import evaluate, load_rule
from keras_l2l.evaluation.report import data_words, markdown, ratio_text, write_report
from keras_l2l.problems import get_problem

#: The demo compares with tuned Adam only, so that 20 seeds fit in a few minutes.
DEMO_BASELINES = ("adam",)
DEMO_STEPS = 1000  # the default preset's meta-training horizon
DEMO_SEEDS = 20

VERDICT_METHOD = (
    "ratio = mean final training loss (eval_loss of the final parameters) of the learned "
    "optimizer / that of the tuned baseline, over the evaluation seeds; 95% CI: paired "
    "percentile bootstrap over seeds. 'win': the whole CI below 1; 'loss': the whole CI "
    "above 1; 'no clear difference': the CI contains 1"
)


def load_demo_problem(data_dir):
    """`(the MNIST MLP problem, the default preset)`.

    MNIST comes from `data_dir`, else ``KERAS_L2L_DATA_DIR``, else a download, else
    (the download failing) the embedded subset; a data directory without mnist.npz
    is reported and the embedded subset used. `datasets.last_source("mnist")` says
    which was used.
    """
    try:
        problem = get_problem("mnist", data_dir)
    except FileNotFoundError as error:
        print(f"{error}\nUsing the MNIST subset embedded in keras_l2l instead.")
        problem = get_problem("mnist", datasets.EMBEDDED)
    return problem, presets.DEFAULT_PRESET


def compare(results, baseline="adam"):
    """`{"baseline", "mean", "ci95", "verdict", "method"}`: learned / `baseline` final loss."""
    entries = results["optimizers"]
    learned = [_value(v) for v in entries["learned"]["final_loss"]["per_seed"]]
    other = [_value(v) for v in entries[baseline]["final_loss"]["per_seed"]]
    ratio, lo, hi = stats.bootstrap_ratio(learned, other)
    if not all(math.isfinite(v) for v in learned):
        ratio = math.inf
    return {"baseline": baseline, "mean": ratio, "ci95": [lo, hi],
            "verdict": stats.verdict(lo, hi), "method": VERDICT_METHOD}


def _value(v):
    return math.inf if v is None else float(v)


def summary_sentence(comparison, preset, steps, seeds, data, baselines_anneal=None):
    """One sentence with the verdict, stated only as far as the CI supports it."""
    name = comparison["baseline"]
    baseline = f"tuned {'Adam' if name == 'adam' else name}"
    if baselines_anneal is not None:
        baseline += f" with the same schedule"
    ratio = comparison["mean"]
    lo, hi = comparison["ci95"]
    numbers = (f"mean final training loss {preset} / {baseline} = {_fmt(ratio)} "
               f"(95% CI {_fmt(lo)} .. {_fmt(hi)})")
    setting = f"on {data}, {steps} steps, {seeds} seeds"
    verdict = comparison["verdict"]
    if verdict == "win":
        return f"Win: {preset} reached a lower final training loss than {baseline}, " \
               f"{numbers}, the whole CI below 1; {setting}."
    if verdict == "loss":
        return f"Loss: {baseline} reached a lower final training loss than {preset}, " \
               f"{numbers}, the whole CI above 1; {setting}."
    if verdict == "no clear difference":
        return f"No clear difference between {preset} and {baseline}: {numbers}, " \
               f"the CI contains 1; {setting}."
    return f"No verdict: {numbers}; the interval is undefined (a diverged run or fewer " \
           f"than two seeds); {setting}."


def _fmt(x):
    return ratio_text(x)


def run_demo(preset=None, steps=DEMO_STEPS, seeds=DEMO_SEEDS, tuning_seeds=2,
             baselines=DEMO_BASELINES, data_dir=None, out="keras_l2l_demo",
             command="keras-l2l demo", verbose=1):
    """Evaluate `preset` (default: `general`) against tuned `baselines` on the MNIST MLP.

    Adam's (and any other baseline's) learning rate is tuned on the 2^-12 .. 2^0 grid
    on `tuning_seeds` separate seeds; `seeds` evaluation seeds. A preset whose steps fall
    at the end of a run (`anneal_fraction`) is compared with baselines given the same
    fall (`evaluate`'s `baselines_anneal`), so the schedule's gain is not credited to it. Prints the table, the
    data used and a verdict sentence (learned / Adam, else / the best baseline),
    writes `out`/results.json (with `data_source` and `demo`), report.md and
    curves.png, and returns the results dict (see `evaluate`).
    """
    started = time.time()
    problem, default_preset = load_demo_problem(data_dir)
    source = datasets.last_source("mnist")
    preset = preset or default_preset
    print(f"Data: {source['description'] if source else 'MNIST'}")
    learned = load_rule(preset)
    anneal = getattr(learned.rule, "anneal_fraction", None)
    schedule = "" if anneal is None else (
        f", each given the preset's schedule (learning rate falling linearly to 0 over the "
        f"last {anneal:.0%} of the run)")
    print(f"Problem: {problem.name} (784-20-10 sigmoid MLP, batch 128); learned optimizer: "
          f"preset {preset!r}; baselines (learning rate tuned): {', '.join(baselines)}"
          f"{schedule}; {steps} steps, {seeds} seeds.")
    results = evaluate(learned, problem, steps, seeds, baselines=baselines,
                       tuning_seeds=tuning_seeds, verbose=verbose, baselines_anneal=anneal)
    results["data_source"] = source
    reference = "adam" if "adam" in results["optimizers"] else \
        (results.get("ratio_to_best_baseline") or {}).get("baseline")
    if reference is not None:
        comparison = compare(results, reference)
        comparison["summary"] = summary_sentence(
            comparison, preset, results["steps"], len(results["seeds"]), data_words(source),
            anneal)
        results["demo"] = comparison
    out = write_report(results, out, command)
    print("\n".join(line for line in markdown(results).splitlines() if line.startswith("|")))
    ratio = results.get("ratio_to_best_baseline")
    if ratio and ratio["baseline"] != reference:
        lo, hi = ratio["ci95"]
        print(f"\nlearned / best tuned baseline ({ratio['baseline']}): {_fmt(ratio['mean'])} "
              f"(95% CI {_fmt(lo)} .. {_fmt(hi)}).")
    if "demo" in results:
        print(f"\n{results['demo']['summary']}")
    print(f"Data: {source['description'] if source else 'MNIST'}")
    print(f"Wrote {out / 'results.json'}, {out / 'report.md'} and {out / 'curves.png'} "
          f"in {time.time() - started:.0f} s.")
    return results
