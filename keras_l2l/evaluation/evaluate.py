"""A learned optimizer against tuned baselines on one problem, over seeds.

Every optimizer starts each evaluation seed from the same
`problem.init_params(seed)` and sees the same batches, because all of them
run through the shared rollout (`keras_l2l.rollout.make_rollout`).
"""

import base64
import hashlib
import json
import math
from pathlib import Path

import keras
import numpy as np

import keras_l2l
from keras_l2l import presets
from keras_l2l.evaluation import lbfgs, runs, stats, tuning
from keras_l2l.evaluation.journal import RunJournal
from keras_l2l.meta.export import git_hash
from keras_l2l.rollout import make_rollout
from keras_l2l.rules import BASELINES, CoordinatewiseLSTM
from keras_l2l.rules.anneal import LinearTail
from keras_l2l.trained_rule import TrainedRule

DEFAULT_BASELINES = (*BASELINES, "lbfgs")

#: The learned optimizer's entries in results.json: as trained, and with its step
#: multiplier tuned (`evaluate`'s `tune_learned`); every other entry is a baseline.
LEARNED = ("learned", "learned_tuned")

RATIO_METHOD = (
    "mean final loss of `learned` / that of the best tuned first-order baseline "
    "(lowest mean final loss; L-BFGS excluded); 95% CI: percentile bootstrap over "
    f"evaluation seeds, paired by seed, {stats.BOOTSTRAP_RESAMPLES} resamples, "
    f"numpy default_rng({stats.BOOTSTRAP_SEED})"
)
TUNING_CRITERION = (
    "lowest mean eval_loss of the final parameters over the tuning seeds; "
    "a non-finite (diverged) run counts as +inf; ties go to the smaller rate"
)
NULLS = (
    "null in results.json stands for a non-finite value (a diverged run) "
    "or an undefined interval (fewer than 2 seeds)"
)


def load_rule(spec):
    """The `TrainedRule` for an `--optimizer` argument; the one place it is resolved.

    `"untrained"` is `CoordinatewiseLSTM()` at its initial meta-parameters;
    anything else is a shipped preset name or a preset directory, loaded and
    checked by `keras_l2l.presets.load_preset`.
    """
    if spec == "untrained":
        return TrainedRule.untrained(CoordinatewiseLSTM())
    return presets.load_preset(spec)


def evaluate(
    learned, problem, steps, seeds, baselines=DEFAULT_BASELINES, tuning_seeds=3, verbose=1,
    grid=tuning.LEARNING_RATE_GRID, journal_dir=None, baselines_from=None, baselines_anneal=None,
    tune_learned=False,
):
    """The results dict (the results.json contract) for `learned`, a `TrainedRule`.

    `seeds` is a count K (seeds 0..K-1) or a list of seeds; `baselines` names
    from `DEFAULT_BASELINES`; `tuning_seeds` is how many seeds (from
    `tuning.TUNING_SEED_OFFSET` on) tune each baseline's learning rate over
    `grid` (e.g. `tuning.GRIDS["coarse"]`). L-BFGS
    runs where the problem allows it (`Problem.full_batch_skip_reason`); else
    `results["skipped"]["lbfgs"]` says why. Non-finite values stay float inf/NaN
    here (`write_report` writes them as null); seeds whose final loss is
    non-finite are listed in `results["diverged_seeds"]`. `verbose=1` shows a
    progress bar over runs. With `journal_dir`, each finished run is recorded there
    (`RunJournal`) and a rerun of the same evaluation skips the runs recorded; delete
    the journal (`journal.remove_journals`) once the results are written.

    `baselines_from` is the directory of an earlier evaluation's results.json with
    the same problem, steps, seeds, tuning seeds, grid and baselines: its baselines
    (tuned rates, runs, step times) are reused and only `learned` runs, so that
    optimizers compared on one problem share one tuning (`load_baselines`).

    `baselines_anneal=F` gives every baseline a learning rate that falls linearly to 0
    over the run's last F (`rules.anneal.LinearTail`), tuned as such: the same tail as
    a learned rule with `anneal_fraction=F`, so that its gain is not credited to the
    rule. Recorded as `results["tuning"]["baselines_anneal"]`.

    `tune_learned=True` also runs `"learned_tuned"`: the learned rule with its step
    multiplier (`LearnedOptimizer(learning_rate=...)`) tuned like the baselines' rates,
    on the same tuning seeds, over `tuning.LEARNED_SCALE_GRID`, and compares it as
    `results["ratio_tuned_to_best_baseline"]`: the learned rule given the baselines'
    tuning budget. `"learned"` and its ratio stay as trained (multiplier 1).
    """
    seeds = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    steps = int(steps)
    first_order, tune = _check_settings(baselines, seeds, tuning_seeds, tune_learned)
    skipped = _skipped(problem, baselines)
    use_lbfgs = "lbfgs" in baselines and "lbfgs" not in skipped
    reused = None
    if baselines_from is not None:
        reused = load_baselines(baselines_from, {
            "problem": problem.name, "steps": steps, "seeds": seeds, "tuning seeds": tune,
            "grid": list(grid), "baselines": sorted(set(baselines)),
            "baselines anneal": baselines_anneal})
        first_order, use_lbfgs = [], False
    runs_total = len(first_order) * len(grid) * len(tune)
    runs_total += len(tuning.LEARNED_SCALE_GRID) * len(tune) * bool(tune_learned)
    runs_total += (1 + bool(tune_learned) + len(first_order) + use_lbfgs) * len(seeds)
    progbar = keras.utils.Progbar(runs_total, verbose=verbose, unit_name="run")
    on_run = lambda: progbar.add(1)  # noqa: E731

    final_loss, test_metric = runs.compile_scores(problem)
    rollouts = {"learned": make_rollout(learned.rule, problem)}
    if tune_learned:
        rollouts["learned_tuned"] = make_rollout(tuning.ScaledSteps(learned.rule), problem)
    rollouts.update({name: make_rollout(baseline_rule(name, baselines_anneal), problem)
                     for name in first_order})
    journal = None
    if journal_dir is not None:
        identity = {"problem": problem.name, "steps": steps, "seeds": seeds, "tuning": tune,
                    "grid": list(grid), "baselines": list(baselines),
                    "learned": weights_sha256(learned), "learned rule": learned_rule(learned),
                    **({"baselines anneal": baselines_anneal} if baselines_anneal else {}),
                    **({"tune learned": list(tuning.LEARNED_SCALE_GRID)} if tune_learned else {})}
        journal = RunJournal(journal_dir, identity)
    tuning_starts = runs.initial_params(problem, tune)
    tuned = {  # name: (learning rate, mean final loss per grid value)
        name: tuning.tune_learning_rate(rollouts[name], final_loss, tuning_starts, steps,
                                        grid=grid, on_run=on_run, journal=journal, name=name)
        for name in first_order
    }
    meta = {name: runs.learning_rate_params(rate) for name, (rate, _) in tuned.items()}
    meta["learned"] = learned.meta_tensors()
    if tune_learned:
        tuned["learned_tuned"] = tuning.tune_learning_rate(
            rollouts["learned_tuned"], final_loss, tuning_starts, steps,
            grid=tuning.LEARNED_SCALE_GRID, on_run=on_run, journal=journal,
            name="learned_tuned", meta_params=meta["learned"], rate_key=tuning.ScaledSteps.KEY)
        meta["learned_tuned"] = {**meta["learned"], **runs.learning_rate_params(
            tuned["learned_tuned"][0], tuning.ScaledSteps.KEY)}
    starts = runs.initial_params(problem, seeds)
    runners = {name: _rollout_runner(run, meta[name], starts, steps)
               for name, run in rollouts.items()}
    if use_lbfgs:
        runners["lbfgs"] = _lbfgs_runner(problem, starts, steps)
    records = _run_seeds(runners, seeds, (final_loss, test_metric), on_run, journal)
    results = _results(learned, problem, steps, seeds, records, tuned, (tune, grid), skipped,
                       reused)
    if baselines_anneal is not None:
        results["tuning"]["baselines_anneal"] = float(baselines_anneal)
    return results


def baseline_rule(name, anneal=None):
    """The hand-written rule `name` (`rules.BASELINES`), with `LinearTail(anneal)` if given."""
    rule = BASELINES[name]()
    return rule if anneal is None else LinearTail(rule, anneal)


def _check_settings(baselines, seeds, tuning_seeds, tune_learned=False):
    """`(first-order baselines, tuning seeds)`; a ValueError for settings that cannot work."""
    unknown = set(baselines) - set(DEFAULT_BASELINES)
    if unknown:
        raise ValueError(f"Unknown baselines {sorted(unknown)}; available: {DEFAULT_BASELINES}.")
    first_order = [name for name in dict.fromkeys(baselines) if name in BASELINES]
    tune = tuning.tuning_seeds(tuning_seeds)
    if first_order and not tune:
        raise ValueError("Tuning the baselines' learning rates needs tuning_seeds >= 1.")
    if tune_learned and not tune:
        raise ValueError("Tuning the learned rule's step multiplier (tune_learned) needs "
                         "tuning_seeds >= 1.")
    if set(tune) & set(seeds):
        raise ValueError(f"Evaluation seeds {seeds} overlap the tuning seeds {tune}.")
    return first_order, tune


def _skipped(problem, baselines):
    """`{baseline: why}` for the requested baselines that do not apply to `problem`."""
    if "lbfgs" in baselines and problem.full_batch_skip_reason is not None:
        return {"lbfgs": f"full-batch L-BFGS does not apply: {problem.full_batch_skip_reason}"}
    return {}


def _rollout_runner(run, meta_params, starts, steps):
    """`seed -> (curve, final params, seconds per step)` of a compiled rollout.

    Traces `run` on its first call, so no timed run pays for tracing.
    """
    traced = []

    def run_one(seed):
        if not traced:
            first = next(iter(starts))
            runs.run_seed(run, meta_params, starts[first], first, 1)
            traced.append(True)
        curve, final, seconds = runs.run_seed(run, meta_params, starts[seed], seed, steps)
        return curve, final, seconds / steps

    return run_one


def _lbfgs_runner(problem, starts, steps):
    """`seed -> (curve, final params, seconds per iteration)` of full-batch L-BFGS."""
    value_and_grad = lbfgs.compile_value_and_grad(problem)

    def run_one(seed):
        curve, final, _, seconds = lbfgs.run_lbfgs(value_and_grad, starts[seed], seed, steps)
        return curve, final, seconds

    return run_one


def _run_seeds(runners, seeds, scores, on_run, journal=None):
    """`{name: _Record}` over the evaluation seeds, scored by `scores` (`runs.compile_scores`);
    runs the `journal` holds are read from it instead.

    Seeds are the outer loop, so background load on a shared machine hits
    every optimizer alike.
    """
    records = {name: _Record(*scores) for name in runners}
    for seed in seeds:
        for name, runner in runners.items():
            key = f"eval/{name}/{seed}"
            record = journal.get(key) if journal is not None else None
            if record is None:
                record = records[name].score(seed, *runner(seed))
                if journal is not None:
                    journal.put(key, record)
            records[name].add(seed, record)
            on_run()
    return records


def _results(learned, problem, steps, seeds, records, tuned, tune_and_grid, skipped, reused):
    """The results dict from the finished runs and the `reused` baselines (see `evaluate`)."""
    rates = {"learned": 1.0, **{name: rate for name, (rate, _) in tuned.items()}}
    tune, grid = tune_and_grid
    entries = {name: record.entry(rates.get(name)) for name, record in records.items()}
    diverged = {name: record.diverged_seeds() for name, record in records.items()}
    tuning_losses = {name: means for name, (_, means) in tuned.items()}
    if reused is not None:
        names = [name for name in reused["optimizers"] if name not in LEARNED]
        entries.update({name: reused["optimizers"][name] for name in names})
        diverged.update({name: reused["diverged_seeds"][name] for name in names})
        tuning_losses = {**{name: means for name, means in reused["tuning"]["mean_final_loss"].items()
                            if name in names}, **tuning_losses}
        skipped = reused["skipped"]
    first_order = [name for name in entries if name in BASELINES]
    at_edge = [name for name in first_order if entries[name]["learning_rate"] in (grid[0], grid[-1])]
    if "learned_tuned" in entries and rates["learned_tuned"] in (
            tuning.LEARNED_SCALE_GRID[0], tuning.LEARNED_SCALE_GRID[-1]):
        at_edge.append("learned_tuned")
    results = {
        "problem": problem.name,
        "steps": steps,
        "seeds": seeds,
        "eval_set": problem.eval_set,
        "optimizers": entries,
        "test_metric_name": problem.test_metric_name,
        "loss_label": problem.loss_label,
        "ratio_to_best_baseline": _ratio(entries, first_order),
        "diverged_seeds": diverged,
        "tuning": {
            "seeds": tune,
            "grid": list(grid),
            "criterion": TUNING_CRITERION,
            "mean_final_loss": tuning_losses,
            "at_grid_edge": at_edge,
        },
        "skipped": skipped,
        "learned_rule": learned_rule(learned),
        "learned_weights_sha256": weights_sha256(learned),
        "package_version": keras_l2l.__version__,
        "git_hash": git_hash(),
        "threads": runs.thread_settings(),
        "nulls": NULLS,
    }
    if "learned_tuned" in entries:
        results["ratio_tuned_to_best_baseline"] = _ratio(entries, first_order, "learned_tuned")
        results["tuning"]["learned_scale_grid"] = list(tuning.LEARNED_SCALE_GRID)
    if learned.name is not None:
        results["learned_preset"] = learned.name
    if reused is not None:
        results["baselines_from"] = reused["baselines_from"]
    return results


def load_baselines(directory, wanted):
    """The results dict in `directory`/results.json, checked against `wanted` (problem, steps,
    seeds, tuning seeds, grid, baselines, baselines' anneal), with `"baselines_from"` naming the file and its
    sha256; a ValueError naming what differs or why the file cannot be read."""
    path = Path(directory) / "results.json"
    try:
        text = path.read_text()
        source = json.loads(text)
        found = {
            "problem": source["problem"], "steps": source["steps"], "seeds": source["seeds"],
            "tuning seeds": source["tuning"]["seeds"], "grid": source["tuning"]["grid"],
            "baselines": sorted({*source["optimizers"], *source["skipped"]} - set(LEARNED)),
            "baselines anneal": source["tuning"].get("baselines_anneal"),
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"Cannot reuse baselines from {path}: {error!r}. Give the directory "
                         "of a finished `keras-l2l evaluate` (it holds results.json).") from error
    differ = [f"{key} {found[key]} (this run: {wanted[key]})"
              for key in wanted if found[key] != wanted[key]]
    if differ:
        raise ValueError(f"Cannot reuse the baselines in {path}: it has other "
                         f"{'; '.join(differ)}. Run with the same settings, or without "
                         "--baselines-from to tune them again.")
    source["baselines_from"] = {"results": str(path), "command": source.get("command"),
                                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                                "threads": source.get("threads")}
    return source


def learned_rule(learned):
    """`{"class", "config"}` of a `TrainedRule`'s rule: with `weights_sha256`, what names it
    (one set of weights may serve several configurations, e.g. `correction_gate_rms`)."""
    return {"class": type(learned.rule).__name__, "config": learned.rule.get_config()}


def weights_sha256(learned):
    """A fingerprint of a `TrainedRule`'s meta-parameters: results name the exact weights."""
    digest = hashlib.sha256()
    for name, value in learned.meta_params.items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(value, np.float32).tobytes())
    return digest.hexdigest()


class _Record:
    """One optimizer's per-seed curves, final scores and step times."""

    def __init__(self, final_loss, test_metric):
        self.final_loss, self.test_metric = final_loss, test_metric
        self.seeds, self.curves, self.finals, self.metrics, self.step_seconds = [], [], [], [], []

    def score(self, seed, curve, final, step_seconds):
        """One run as a JSON-able record: its curve, final loss, test metric, step time."""
        seed_tensor = runs.seed_tensor(seed)
        metric = None if self.test_metric is None else float(self.test_metric(final, seed_tensor))
        return {
            "curve": encode_curve(curve),
            "final_loss": runs.finite_or_inf(self.final_loss(final, seed_tensor)),
            "test_metric": metric,
            "seconds_per_step": float(step_seconds),
        }

    def add(self, seed, record):
        self.seeds.append(seed)
        self.curves.append(decode_curve(record["curve"]))
        self.finals.append(record["final_loss"])
        if self.test_metric is not None:
            self.metrics.append(record["test_metric"])
        self.step_seconds.append(record["seconds_per_step"])

    def diverged_seeds(self):
        return [seed for seed, final in zip(self.seeds, self.finals) if not np.isfinite(final)]

    def entry(self, learning_rate):
        return {
            "learning_rate": learning_rate,
            "final_loss": stats.summary(self.finals),
            "test_metric": None if self.test_metric is None else stats.summary(self.metrics),
            "curve": stats.band(np.stack(self.curves)),
            "seconds_per_step": float(np.mean(self.step_seconds)),
        }


def encode_curve(curve):
    """A loss curve as exact, compact JSON: base64 of its float32 bytes where that loses
    nothing (the rollouts' losses are float32), else of its float64 bytes. A 5,000-step
    curve is 27 kB, a quarter of its decimal digits, so journals stay small enough to commit."""
    curve = np.asarray(curve, np.float64)
    narrow = curve.astype(np.float32)
    dtype = "float32" if np.array_equal(narrow, curve, equal_nan=True) else "float64"
    data = (narrow if dtype == "float32" else curve).tobytes()
    return {"dtype": dtype, "base64": base64.b64encode(data).decode("ascii")}


def decode_curve(encoded):
    """The float64 curve `encode_curve` stored."""
    data = base64.b64decode(encoded["base64"])
    return np.frombuffer(data, np.dtype(encoded["dtype"])).astype(np.float64)


def _ratio(entries, first_order, learned="learned"):
    """`learned` vs the best first-order baseline (see `RATIO_METHOD`), or None."""
    if not first_order:
        return None
    best = min(first_order, key=lambda name: np.mean(per_seed_finals(entries[name])))
    ratio, lo, hi = stats.bootstrap_ratio(per_seed_finals(entries[learned]),
                                          per_seed_finals(entries[best]))
    return {"baseline": best, "mean": ratio, "ci95": [lo, hi],
            "method": RATIO_METHOD.replace("`learned`", f"`{learned}`")}


def per_seed_finals(entry):
    """An optimizer entry's per-seed final losses; a null (diverged) in results.json is +inf."""
    return np.array([math.inf if v is None else v for v in entry["final_loss"]["per_seed"]],
                    np.float64)
