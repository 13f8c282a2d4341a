"""One learned optimizer against tuned baselines on every task of a held-out suite.

Each (task, horizon) pair is an ordinary `evaluate` run written to
`OUT/<task>/<steps>/` (results.json, report.md, curves.png). The summary is
rebuilt from those files, so an interrupted run, started again with the same
command, skips the finished pairs and resumes.
"""

import json
import math
from pathlib import Path

import numpy as np

from keras_l2l.evaluation import stats, tuning
from keras_l2l.evaluation.evaluate import (LEARNED, evaluate, learned_rule, per_seed_finals,
                                          weights_sha256)
from keras_l2l.evaluation.journal import remove_journals
from keras_l2l.evaluation.report import write_report
from keras_l2l.evaluation.suite_report import ABOVE, write_summary
from keras_l2l.problems import get_problem
from keras_l2l.problems.suite_tasks import TASKS
from keras_l2l.rules import BASELINES

SUITES = {"heldout": tuple(TASKS)}
SUITE_BASELINES = ("adam", "adamw", "nag", "rmsprop")

MATCH_METHOD = (
    "the first step at which tuned Adam's mean minibatch loss "
    "(mean over seeds, trailing average over a window of steps/20) falls to the learned "
    "optimizer's mean minibatch loss averaged over its last steps/20 steps; '>N' if it never "
    "does within the horizon N. Minibatch curves, not eval_loss: results.json stores the "
    "per-step curves only as minibatch losses"
)


def run_suite(learned, out, horizons, seeds, suite="heldout", tasks=None,
              baselines=SUITE_BASELINES, tuning_seeds=3, grid="full", data_dir=None,
              command=None, verbose=1, baselines_from=None, baselines_anneal=None,
              tune_learned=False):
    """Evaluate `learned` (a `TrainedRule`) on each task at each horizon; returns the summary.

    `tasks` is a subset of the suite's task names (default: all); `grid` a name
    from `tuning.GRIDS`. Pairs whose results.json exists are skipped, after
    checking that it was made with these settings (else ValueError: use
    another `out`); an interrupted pair resumes from its journal of finished
    runs (`RunJournal`). Writes OUT/summary.json, summary.md and suite.png.
    With `baselines_from` (another suite run's OUT, same settings), each pair reuses
    the tuned baselines of that run's pair (`evaluate`'s `baselines_from`) and only
    `learned` runs; a ValueError lists the pairs it lacks. `baselines_anneal` gives the
    baselines a linear tail, and `tune_learned` adds the learned rule with its step
    multiplier tuned too (both `evaluate`'s).
    """
    tasks, horizons = check_settings(suite, tasks, horizons, baselines, grid)
    seeds = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else list(seeds)
    settings = _settings(learned, seeds, baselines, tuning_seeds, grid, baselines_anneal,
                         tune_learned)
    out = Path(out)
    pending = [(task, steps) for task in tasks for steps in horizons  # checks all first
               if not _finished(out / task / str(steps), settings)]
    source = None if baselines_from is None else Path(baselines_from)
    if source is not None:
        missing = [f"{task}/{steps}" for task, steps in pending
                   if not (source / task / str(steps) / "results.json").is_file()]
        if missing:
            raise ValueError(f"{baselines_from} has no results for {', '.join(missing)}; "
                             "finish those there first, or leave them out (--tasks, --steps).")
    problem = None
    for number, (task, steps) in enumerate(pending, 1):
        print(f"[{number}/{len(pending)}] {task}, {steps} steps", flush=True)
        if problem is None or problem.name != f"suite/{task}":
            problem = get_problem(f"suite/{task}", data_dir)
        results = evaluate(learned, problem, steps, seeds, baselines, tuning_seeds,
                           verbose=verbose, grid=tuning.GRIDS[grid],
                           journal_dir=out / task / str(steps),
                           baselines_from=source and source / task / str(steps),
                           baselines_anneal=baselines_anneal, tune_learned=tune_learned)
        write_report(results, out / task / str(steps), command)
        remove_journals(out / task / str(steps))
    summary = summarize(out, suite, tasks, horizons, grid)
    write_summary(summary, out, command)
    return summary


def check_settings(suite, tasks, horizons, baselines, grid):
    """`(task names, horizons)` checked; a ValueError naming what the suite cannot use.

    `tasks` None means all of the suite's tasks.
    """
    if suite not in SUITES:
        raise ValueError(f"Unknown suite {suite!r}; available: {', '.join(SUITES)}.")
    unknown = [task for task in tasks or () if task not in SUITES[suite]]
    if unknown or tasks == []:
        raise ValueError(f"Unknown tasks {unknown} for suite {suite!r}; available: "
                         f"{', '.join(SUITES[suite])}.")
    horizons = [int(h) for h in horizons]
    if not horizons or min(horizons) < 1:
        raise ValueError(f"Horizons must be positive step counts, got {horizons}.")
    if grid not in tuning.GRIDS:
        raise ValueError(f"Unknown grid {grid!r}; available: {', '.join(tuning.GRIDS)}.")
    wrong = [name for name in baselines if name not in BASELINES]
    if wrong or not baselines:
        raise ValueError(f"The suite compares with tuned first-order baselines "
                         f"({', '.join(BASELINES)}); got {list(baselines)}.")
    return list(dict.fromkeys(tasks or SUITES[suite])), horizons


def _settings(learned, seeds, baselines, tuning_seeds, grid, baselines_anneal, tune_learned):
    """What a finished pair's results.json must match to be reused."""
    return {
        "seeds": [int(seed) for seed in seeds],
        "optimizers": ["learned", *["learned_tuned"] * bool(tune_learned), *dict.fromkeys(baselines)],
        "tuning seeds": tuning.tuning_seeds(tuning_seeds),
        "grid": list(tuning.GRIDS[grid]),
        "learned weights": weights_sha256(learned),
        "learned rule": json.loads(json.dumps(learned_rule(learned))),  # as results.json has it
        "baselines anneal": None if baselines_anneal is None else float(baselines_anneal),
    }


def _finished(directory, settings):
    """Whether `directory` holds a results.json made with `settings`; ValueError if other ones."""
    path = directory / "results.json"
    if not path.is_file():
        return False
    results = json.loads(path.read_text())
    found = {
        "seeds": results["seeds"],
        "optimizers": list(results["optimizers"]),
        "tuning seeds": results["tuning"]["seeds"],
        "grid": results["tuning"]["grid"],
        "learned weights": results.get("learned_weights_sha256"),
        "learned rule": results.get("learned_rule"),
        "baselines anneal": results["tuning"].get("baselines_anneal"),
    }
    differ = [key for key in settings if found[key] != settings[key]]
    if differ:
        raise ValueError(f"{path} was made with other {', '.join(differ)} than this run; "
                         "write to another --out, or delete it to recompute.")
    return True


# -- summary -----------------------------------------------------------------------


def summarize(out, suite, tasks, horizons, grid):
    """The summary dict from OUT/<task>/<steps>/results.json (the summary.json contract)."""
    out = Path(out)
    rows = {task: {} for task in tasks}
    reused = set()  # commands of the evaluations whose tuned baselines were reused
    for task in tasks:
        for steps in horizons:
            results = json.loads((out / task / str(steps) / "results.json").read_text())
            rows[task][str(steps)] = task_row(results)
            if results.get("baselines_from"):
                reused.add(str(results["baselines_from"]["command"]))
    first = json.loads((out / tasks[0] / str(horizons[0]) / "results.json").read_text())
    return {
        "suite": suite,
        "tasks": {task: TASKS[task].description for task in tasks},
        "horizons": list(horizons),
        "seeds": first["seeds"],
        "tuning": {"seeds": first["tuning"]["seeds"], "grid_name": grid,
                   "grid": tuning.describe_grid(first["tuning"]["grid"]),
                   **{key: first["tuning"][key] for key in ["baselines_anneal"]
                      if key in first["tuning"]}},
        "baselines": [name for name in first["optimizers"] if name not in LEARNED],
        "learned": {"preset": first.get("learned_preset"), "rule": first["learned_rule"],
                    "weights_sha256": first.get("learned_weights_sha256")},
        "results": rows,
        "per_horizon": {str(h): horizon_summary([rows[t][str(h)] for t in tasks], tasks)
                        for h in horizons},
        "methods": {"ratio": RATIO_SUMMARY, "adam_steps_to_match": MATCH_METHOD,
                    "geometric_mean": GEOMEAN_METHOD},
        "baselines_reused_from": sorted(reused),
    }


RATIO_SUMMARY = (
    "mean final eval_loss of the learned optimizer / that of a tuned baseline over the "
    "evaluation seeds; 95% CI: paired percentile bootstrap over seeds "
    f"({stats.BOOTSTRAP_RESAMPLES} resamples); 'best' is the tuned baseline with the lowest "
    "mean final loss on that task and horizon; inf when a learned seed diverged"
)
GEOMEAN_METHOD = (
    "geometric mean over tasks of the point ratios; inf if any learned run diverged, "
    "undefined (null) if a baseline diverged on a task"
)


def task_row(results):
    """One task at one horizon: ratios with CIs, steps to match, divergence, timings; with
    `learned_tuned`, also its ratio to the best baseline and its tuned multiplier."""
    optimizers = results["optimizers"]
    learned = per_seed_finals(optimizers["learned"])
    best = (results.get("ratio_to_best_baseline") or {}).get("baseline")
    adam = optimizers.get("adam")
    tuned = optimizers.get("learned_tuned")
    return {
        "learned_final_loss": _mean(learned),
        "best_baseline": best,
        "best_baseline_final_loss": _mean(per_seed_finals(optimizers[best])),
        "ratio_to_best": ratio(learned, per_seed_finals(optimizers[best])),
        "ratio_to_adam": None if adam is None else ratio(learned, per_seed_finals(adam)),
        "adam_steps_to_match": None if adam is None else steps_to_match(
            optimizers["learned"]["curve"]["mean"], adam["curve"]["mean"]),
        "ratio_tuned_to_best": None if tuned is None else ratio(
            per_seed_finals(tuned), per_seed_finals(optimizers[best])),
        "diverged_seeds": results["diverged_seeds"],
        "learning_rates": {name: entry["learning_rate"] for name, entry in optimizers.items()
                           if name != "learned"},
        "at_grid_edge": results["tuning"]["at_grid_edge"],
        "seconds_per_step": {name: entry["seconds_per_step"]
                             for name, entry in optimizers.items()},
    }


def _mean(values):
    return float(np.mean(values))


def ratio(learned, baseline):
    """`{"mean", "ci95"}` of mean(learned) / mean(baseline), paired bootstrap CI.

    inf when a learned seed diverged; NaN (undefined) when only the baseline did.
    """
    value, lo, hi = stats.bootstrap_ratio(learned, baseline)
    if not np.all(np.isfinite(learned)):
        value = math.inf
    return {"mean": value, "ci95": [lo, hi]}


def steps_to_match(learned_curve, adam_curve):
    """`{"steps", "reached", "window"}`: when Adam's mean curve reaches the learned final loss.

    See `MATCH_METHOD`. `steps` counts steps so that identical curves match at
    the horizon; None with `reached` False when Adam never gets there, or when
    the learned curve is not finite at the end (then `reached` is None).
    """
    learned = np.array([np.nan if v is None else v for v in learned_curve], np.float64)
    adam = np.array([np.nan if v is None else v for v in adam_curve], np.float64)
    window = max(1, len(learned) // 20)
    target = learned[-window:].mean()
    if not np.isfinite(target):
        return {"steps": None, "reached": None, "window": window}
    smoothed = np.convolve(adam, np.ones(window) / window, mode="valid")
    with np.errstate(invalid="ignore"):
        hits = np.nonzero(smoothed <= target)[0]
    if hits.size == 0:
        return {"steps": None, "reached": False, "window": window}
    return {"steps": int(hits[0] + window), "reached": True, "window": window}


def horizon_summary(rows, tasks):
    """Geometric means over tasks, the tasks above `ABOVE` and those with diverged seeds."""
    summary = {}
    for key in ("ratio_to_best", "ratio_to_adam", "ratio_tuned_to_best"):
        if any(row.get(key) is None for row in rows):
            continue
        ratios = [row[key]["mean"] for row in rows]
        summary[f"geomean_{key}"] = geometric_mean(ratios)
        summary[f"tasks_above_{ABOVE}_{key}"] = [
            task for task, value in zip(tasks, ratios) if value > ABOVE
        ]
    summary["tasks_where_learned_diverged"] = [
        task for task, row in zip(tasks, rows) if row["diverged_seeds"].get("learned")
    ]
    return summary


def geometric_mean(ratios):
    """exp(mean(log r)); inf if any is inf, NaN if any is NaN or not positive."""
    values = np.asarray(ratios, np.float64)
    if values.size == 0 or np.any(np.isnan(values)) or np.any(values <= 0):
        return math.nan
    if np.any(np.isinf(values)):
        return math.inf
    return float(np.exp(np.mean(np.log(values))))

