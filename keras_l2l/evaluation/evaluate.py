"""A learned optimizer against tuned baselines on one problem, over seeds.

Every optimizer starts each evaluation seed from the same
`problem.init_params(seed)` and sees the same batches, because all of them
run through the shared rollout (`keras_l2l.rollout.make_rollout`).
"""

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import keras_l2l
from keras_l2l import presets
from keras_l2l.evaluation import lbfgs, runs, stats, tuning
from keras_l2l.problems import MLP, ConvNet, Quadratic
from keras_l2l.rollout import make_rollout
from keras_l2l.rules import BASELINES, CoordinatewiseLSTM

DEFAULT_BASELINES = (*BASELINES, "lbfgs")

#: The architecture keys read from a preset directory's config.json.
ARCHITECTURE_KEYS = tuple(CoordinatewiseLSTM().get_config())

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


def load_rule(spec):
    """`(rule, meta_params)` for an `--optimizer` argument; the one place it is resolved.

    - `"untrained"`: `CoordinatewiseLSTM()` at `init_meta_params(0)`;
    - a shipped preset name, or a preset directory with `provenance.json`:
      loaded and checked by `keras_l2l.presets.load_preset`;
    - a bare directory with just `config.json` (architecture kwargs; other keys
      ignored) and `weights.npz` (meta-weights by name, as from
      `LearnedOptimizer.get_meta_weights()`), e.g. a hand export.
    """
    if spec == "untrained":
        rule = CoordinatewiseLSTM()
        return rule, rule.init_meta_params(0)
    directory = Path(spec)
    if directory.is_dir() and not (directory / "provenance.json").exists():
        architecture, weights = _load_bare_directory(directory)
    else:
        architecture, weights, _ = presets.load_preset(spec)
    rule = CoordinatewiseLSTM(**architecture)
    return rule, {k: tf.constant(weights[k], tf.float32) for k in rule.meta_param_shapes()}


def _load_bare_directory(directory):
    if not ((directory / "config.json").is_file() and (directory / "weights.npz").is_file()):
        raise ValueError(
            f"{directory} is not a preset: it needs config.json and weights.npz "
            "(or use 'untrained' or a shipped preset name)."
        )
    config = json.loads((directory / "config.json").read_text())
    architecture = {k: config[k] for k in ARCHITECTURE_KEYS if k in config}
    expected = CoordinatewiseLSTM(**architecture).meta_param_shapes()
    with np.load(directory / "weights.npz", allow_pickle=False) as archive:
        weights = {k: archive[k] for k in archive.files}
    given = {k: tuple(v.shape) for k, v in weights.items()}
    if given != expected:
        raise ValueError(
            f"{directory / 'weights.npz'} does not match the architecture in "
            f"config.json: expected {expected}, got {given}."
        )
    return architecture, weights


def evaluate(
    rule,
    meta_params,
    problem,
    steps,
    seeds,
    baselines=DEFAULT_BASELINES,
    tuning_seeds=3,
    verbose=1,
):
    """The results dict (the results.json contract) for `rule` at `meta_params`.

    `seeds` is a count K (seeds 0..K-1) or a list of seeds; `baselines` names
    from `DEFAULT_BASELINES`; `tuning_seeds` is how many seeds (from
    `tuning.TUNING_SEED_OFFSET` on) tune each baseline's learning rate.
    Non-finite values stay float inf/NaN here (`write_report` writes them as
    null); seeds whose final loss is non-finite are listed in
    `results["diverged_seeds"]`. `verbose=1` shows a progress bar over runs.
    """
    seeds = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    steps = int(steps)
    unknown = set(baselines) - set(DEFAULT_BASELINES)
    if unknown:
        raise ValueError(f"Unknown baselines {sorted(unknown)}; available: {DEFAULT_BASELINES}.")
    first_order = [name for name in dict.fromkeys(baselines) if name in BASELINES]
    tune = tuning.tuning_seeds(tuning_seeds)
    if first_order and not tune:
        raise ValueError("Tuning the baselines' learning rates needs tuning_seeds >= 1.")
    if set(tune) & set(seeds):
        raise ValueError(f"Evaluation seeds {seeds} overlap the tuning seeds {tune}.")
    skipped = {}
    use_lbfgs = "lbfgs" in baselines
    if use_lbfgs and not lbfgs.applies_to(problem):
        use_lbfgs = False
        skipped["lbfgs"] = "full-batch L-BFGS applies only to the quadratic and MLP problems"

    final_loss, test_metric = runs.compile_scores(problem)
    rollouts = {"learned": make_rollout(rule, problem)}
    rollouts.update({name: make_rollout(BASELINES[name](), problem) for name in first_order})
    grid = tuning.LEARNING_RATE_GRID
    progbar = keras.utils.Progbar(
        len(first_order) * len(grid) * len(tune) + (len(rollouts) + use_lbfgs) * len(seeds),
        verbose=verbose,
        unit_name="run",
    )

    learning_rates, tuning_table = {"learned": 1.0}, {}
    tuning_starts = runs.initial_params(problem, tune)
    for name in first_order:
        learning_rates[name], tuning_table[name] = tuning.tune_learning_rate(
            rollouts[name], final_loss, tuning_starts, steps, grid, lambda: progbar.add(1)
        )
    meta = {name: runs.learning_rate_params(learning_rates[name]) for name in first_order}
    meta["learned"] = meta_params

    starts = runs.initial_params(problem, seeds)
    for name, run in rollouts.items():  # trace outside the timed runs
        runs.run_seed(run, meta[name], starts[seeds[0]], seeds[0], 1)
    records = {name: _Record() for name in [*rollouts, *(["lbfgs"] if use_lbfgs else [])]}
    value_and_grad = lbfgs.compile_value_and_grad(problem) if use_lbfgs else None
    for seed in seeds:  # seeds outside, so background load hits all optimizers alike
        for name, run in rollouts.items():
            curve, final, seconds = runs.run_seed(run, meta[name], starts[seed], seed, steps)
            records[name].add(curve, final, seed, final_loss, test_metric, seconds / steps)
            progbar.add(1)
        if use_lbfgs:
            curve, final, _, per_step = lbfgs.run_lbfgs(value_and_grad, starts[seed], seed, steps)
            records["lbfgs"].add(curve, final, seed, final_loss, test_metric, per_step)
            progbar.add(1)

    optimizers = {
        name: record.entry(learning_rates.get(name), test_metric is not None)
        for name, record in records.items()
    }
    return {
        "problem": problem.name,
        "steps": steps,
        "seeds": seeds,
        "eval_set": problem.eval_set,
        "optimizers": optimizers,
        "test_metric_name": problem.test_metric_name,
        "loss_label": _loss_label(problem),
        "ratio_to_best_baseline": _ratio(records, first_order),
        "diverged_seeds": {
            name: [s for s, v in zip(seeds, r.finals) if not np.isfinite(v)]
            for name, r in records.items()
        },
        "tuning": {
            "seeds": tune,
            "grid": list(grid),
            "criterion": TUNING_CRITERION,
            "mean_final_loss": tuning_table,
            "at_grid_edge": [n for n in first_order if learning_rates[n] in (grid[0], grid[-1])],
        },
        "skipped": skipped,
        "learned_rule": {"class": type(rule).__name__, "config": rule.get_config()},
        "package_version": keras_l2l.__version__,
        "nulls": "null in results.json stands for a non-finite value (a diverged run) "
        "or an undefined interval (fewer than 2 seeds)",
    }


class _Record:
    """One optimizer's per-seed curves, final scores and step times."""

    def __init__(self):
        self.curves, self.finals, self.metrics, self.step_seconds = [], [], [], []

    def add(self, curve, final, seed, final_loss, test_metric, step_seconds):
        seed = runs.seed_tensor(seed)
        self.curves.append(curve)
        self.finals.append(runs.finite_or_inf(final_loss(final, seed)))
        if test_metric is not None:
            self.metrics.append(float(test_metric(final, seed)))
        self.step_seconds.append(step_seconds)

    def entry(self, learning_rate, has_metric):
        return {
            "learning_rate": learning_rate,
            "final_loss": stats.summary(self.finals),
            "test_metric": stats.summary(self.metrics) if has_metric else None,
            "curve": stats.band(np.stack(self.curves)),
            "seconds_per_step": float(np.mean(self.step_seconds)),
        }


def _ratio(records, first_order):
    """Learned vs the best first-order baseline (see `RATIO_METHOD`), or None."""
    if not first_order:
        return None
    best = min(first_order, key=lambda name: np.mean(records[name].finals))
    ratio, lo, hi = stats.bootstrap_ratio(records["learned"].finals, records[best].finals)
    return {"baseline": best, "mean": ratio, "ci95": [lo, hi], "method": RATIO_METHOD}


def _loss_label(problem):
    """The y-axis quantity and its units."""
    if isinstance(problem, Quadratic):
        return "‖Wθ − y‖² (unitless)"
    if isinstance(problem, (MLP, ConvNet)):
        return "cross-entropy (nats)"
    return "loss"
