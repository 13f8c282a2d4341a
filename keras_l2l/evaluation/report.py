"""results.json, a markdown report and a loss-curve plot from an evaluation's results."""

import json
import math
import textwrap
from pathlib import Path

import matplotlib.ticker
from matplotlib.figure import Figure  # not pyplot: leaves the session's backend alone
import numpy as np
from scipy import stats as scipy_stats

from keras_l2l.evaluation import stats
from keras_l2l.evaluation.tuning import describe_grid


def write_report(results, out_dir, command=None):
    """Write `out_dir`/results.json, report.md and curves.png; returns `out_dir` as a Path.

    `command` (the command line that produced the results) is stored in both
    results.json (`"command"`) and the report. results.json holds no NaN or
    Infinity literals: non-finite numbers are written as null.
    """
    out_dir = Path(out_dir)
    results = {**results, "command": command}
    write_json(results, out_dir / "results.json")
    (out_dir / "report.md").write_text(markdown(results))
    plot_curves(results, out_dir / "curves.png")
    return out_dir


def write_json(value, path):
    """Write `value` as indented JSON, non-finite numbers as null; creates the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_safe(value), indent=1, allow_nan=False)
    path.write_text(text + "\n")


def json_safe(value):
    """`value` with every non-finite float replaced by None (JSON null)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _number(x):
    if x is None or not math.isfinite(x):
        return "diverged" if x == math.inf else "n/a"
    return f"{x:.4g}"


def _mean_ci(summary):
    if summary is None:
        return "n/a"
    lo, hi = summary["ci95"]
    if summary["mean"] is None or not math.isfinite(summary["mean"]):
        return _number(summary["mean"])
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{_number(summary['mean'])} (no CI)"
    return f"{_number(summary['mean'])} ± {(hi - lo) / 2:.2g}"


def _ratio_cell(name, results):
    key = {"learned_tuned": "ratio_tuned_to_best_baseline"}.get(name, "ratio_to_best_baseline")
    ratio = results.get(key)
    if ratio is None:
        return "n/a"
    if name in ("learned", "learned_tuned"):
        lo, hi = ratio["ci95"]
        return f"{_number(ratio['mean'])} [{_number(lo)}, {_number(hi)}]"
    best = results["optimizers"][ratio["baseline"]]["final_loss"]["mean"]
    mean = results["optimizers"][name]["final_loss"]["mean"]
    if mean is None or best is None or best == 0:
        return "n/a"
    return _number(mean / best)


def markdown(results):
    """The report: a results table, how to read it, the settings and the command."""
    lines = [f"# Evaluation on `{results['problem']}`", ""]
    if results.get("demo", {}).get("summary"):
        lines += [f"**{results['demo']['summary']}**", ""]
    if results.get("data_source"):
        lines += [f"Data: {results['data_source']['description']}.", ""]
    lines += [
        *_table(results),
        "",
        "![loss curves](curves.png)",
        "",
        "Top: minibatch loss per step, geometric mean over seeds with its 95% band (log "
        "space). Bottom: learned / tuned Adam (else the best baseline) per step, log axis, "
        "with the final eval-loss ratio and its CI in its title. The figure's footnote says "
        "how lines and bands were computed.",
        "",
        "## Settings",
        "",
        *_settings(results),
        "",
        "## Command",
        "",
        "```",
        str(results.get("command")),
        "```",
        "",
    ]
    return "\n".join(lines)


def _table(results):
    """How to read the table, then one row per optimizer."""
    metric = results.get("test_metric_name") or "test metric"
    lines = [
        f"{len(results['seeds'])} evaluation seeds, {results['steps']} optimizee steps. Final "
        f"loss is `eval_loss` of the final parameters on {results['eval_set']}: mean ± "
        "half-width of the 95% Student-t interval over seeds. Learning rates of the baselines "
        "were tuned on separate seeds; `learned` runs its meta-weights as trained (rate 1)"
        + ("; `learned_tuned` is the same rule with its step multiplier (its learning rate "
           "column) tuned on those seeds too, over "
           f"{describe_grid(results['tuning']['learned_scale_grid'])}."
           if "learned_tuned" in results["optimizers"] else "."),
        "",
        f"| optimizer | learning rate | final loss | {metric} | s/step | ratio vs best baseline |",
        "|---|---|---|---|---|---|",
    ]
    at_edge = results.get("tuning", {}).get("at_grid_edge", [])
    for name, entry in results["optimizers"].items():
        lr = entry["learning_rate"]
        lr = "—" if lr is None else f"{lr:.4g}" + (" (grid edge)" if name in at_edge else "")
        lines.append(
            f"| {name} | {lr} | {_mean_ci(entry['final_loss'])} "
            f"| {_mean_ci(entry['test_metric'])} | {entry['seconds_per_step']:.3g} "
            f"| {_ratio_cell(name, results)} |"
        )
    return lines


def _settings(results):
    """The settings as a bullet list: enough to read, check and rerun the evaluation."""
    ratio = results.get("ratio_to_best_baseline")
    tuning = results.get("tuning", {})
    lines = []
    if ratio is not None:
        lines.append(f"- ratio vs best baseline (`{ratio['baseline']}`): {ratio['method']}")
    if results.get("demo"):
        lines.append(f"- verdict (vs `{results['demo']['baseline']}`): {results['demo']['method']}")
    if results.get("data_source"):
        lines.append(f"- data: {results['data_source']['description']}")
    if results.get("baselines_from"):
        source = results["baselines_from"]
        lines.append(f"- baselines reused from `{source['results']}` (sha256 "
                     f"{source['sha256'][:16]}): their tuning, runs and s/step come from that "
                     f"evaluation, made by `{source['command']}`")
    return lines + [
        f"- problem: `{results['problem']}`; loss: {results.get('loss_label', 'loss')}",
        f"- evaluation set: {results['eval_set']}",
        f"- steps: {results['steps']}; evaluation seeds: {results['seeds']}",
        f"- tuning seeds: {tuning.get('seeds')}; learning-rate grid: "
        f"{describe_grid(tuning.get('grid') or [])}; choice: {tuning.get('criterion')}; "
        "\"grid edge\": the best rate is the grid's smallest or largest, so the optimum "
        "may lie outside it",
        *([f"- baselines annealed: each baseline's learning rate falls linearly to 0 over the "
           f"run's last {tuning['baselines_anneal']:g} (`--baselines-anneal`), tuned as such"]
          if tuning.get("baselines_anneal") is not None else []),
        "- lbfgs: full-batch L-BFGS-B (scipy, maxiter = steps); its curve is the full-batch "
        "loss per iteration, a second-order reference without minibatch noise",
        "- s/step: wall-clock seconds per optimizee step of the compiled rollout (after a "
        "warm-up trace), measured in this run on a possibly shared machine",
        f"- learned rule: `{results.get('learned_rule')}`",
        f"- diverged seeds (non-finite final loss): {results.get('diverged_seeds')}",
        f"- skipped: {results.get('skipped') or 'none'}",
        f"- keras_l2l version: {results.get('package_version')} (git "
        f"{results.get('git_hash', 'not recorded')}); TF threads: "
        f"{results.get('threads', 'not recorded')} (0: TF's default; they set the float "
        "summation order, so a rerun with other counts differs slightly, more where a run is "
        "chaotic)",
        f"- {results.get('nulls', 'null in results.json marks a non-finite value')}",
    ]


#: Fixed colours, so an optimizer looks the same in every figure.
COLORS = {
    "learned": "tab:red", "adam": "tab:blue", "adamw": "tab:cyan", "rmsprop": "tab:purple",
    "nag": "tab:green", "momentum": "tab:olive", "sgd": "tab:gray", "lbfgs": "tab:brown",
}

#: adamw often tracks adam exactly; dashed, so that adam stays visible under it.
LINESTYLES = {"lbfgs": "--", "adamw": (0, (4, 2))}

CURVE_BANDS = (
    "lines: geometric mean over seeds of the minibatch loss; shaded: its 95% CI (Student t "
    "on log loss), so bands stay positive on the log axis"
)
APPROXIMATE_BANDS = (
    "this results.json predates per-seed curves: geometric means and bands are approximated "
    "from the stored per-step arithmetic means and t-intervals (lognormal), and the ratio's "
    "band is unpaired (wider than the paired one)"
)
NO_BANDS = (
    "this results.json predates per-seed curves: lines are approximate geometric means "
    "(lognormal, from the stored per-step means and t-intervals), averaged over blocks of "
    "{every} steps; no bands, because the stored per-step intervals measure single-minibatch "
    "noise, not the spread of these averages; the final-loss CI is exact"
)


def curve_stats(entry, seeds, confidence=0.95):
    """`(steps, geomean, lo, hi, per-seed blocks or None, every)` of one optimizer's curve.

    From the stored per-seed block means when present (exact: `stats.log_band`).
    Otherwise approximated from the stored per-step arithmetic band
    (`stats.lognormal_from_t_band`): at full resolution with its band when the run
    has at most `stats.MAX_STORED_POINTS` steps; averaged over blocks of steps
    without a band (NaN `lo`, `hi`) when longer, since a block average's spread
    cannot be recovered from per-step intervals.
    """
    curve = entry["curve"]
    total = len(curve["mean"])
    stored = curve.get("per_seed")
    if stored is not None:
        every = int(stored["every"])
        values = _array(stored["values"])
        geomean, lo, hi = stats.log_band(values, confidence)
        return stats.block_steps(total, every), geomean, lo, hi, values, every
    every = max(1, math.ceil(total / stats.MAX_STORED_POINTS))
    mean, lo, hi = (_array(curve[k]) for k in ("mean", "lo", "hi"))
    mu, sigma = stats.lognormal_from_t_band(mean, lo, hi, seeds, confidence)
    steps = stats.block_steps(total, every)
    with np.errstate(over="ignore", invalid="ignore"):
        if every > 1:
            geomean = np.exp(stats.block_means(mu, every))
            return steps, geomean, np.full_like(geomean, np.nan), np.full_like(geomean, np.nan), \
                None, every
        half = _t(seeds, confidence) * sigma / math.sqrt(seeds)
        return steps, np.exp(mu), np.exp(mu - half), np.exp(mu + half), None, every


def ratio_stats(results, numerator="learned", denominator="adam", confidence=0.95):
    """`(steps, ratio, lo, hi, exact)`: the per-step ratio of two optimizers' curves.

    Exact (`exact` True): the geometric mean over seeds of the per-seed ratios of
    block-mean minibatch losses, paired by seed, with its log-space t-interval
    (`stats.paired_log_ratio`). Older results.json without per-seed curves: the ratio
    of the approximate geometric means (see `curve_stats`), with an unpaired interval
    for runs of at most `stats.MAX_STORED_POINTS` steps and none (NaN) for longer ones.
    """
    seeds = len(results["seeds"])
    entries = results["optimizers"]
    num = curve_stats(entries[numerator], seeds, confidence)
    den = curve_stats(entries[denominator], seeds, confidence)
    if num[4] is not None and den[4] is not None and num[4].shape == den[4].shape:
        ratio, lo, hi = stats.paired_log_ratio(num[4], den[4], confidence)
        return num[0], ratio, lo, hi, True
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ratio = num[1] / den[1]
        if num[5] > 1 or den[5] > 1 or len(num[1]) != len(den[1]):
            return num[0], ratio, np.full_like(ratio, np.nan), np.full_like(ratio, np.nan), False
        params = [stats.lognormal_from_t_band(*(_array(entries[name]["curve"][k])
                                                for k in ("mean", "lo", "hi")), seeds, confidence)
                  for name in (numerator, denominator)]
        (_, s_n), (_, s_d) = params  # unpaired: the two log variances add
        half = _t(seeds, confidence) * np.sqrt((s_n**2 + s_d**2) / seeds)
        return num[0], ratio, ratio * np.exp(-half), ratio * np.exp(half), False


def _array(values):
    """A float array from JSON lists, null (a non-finite value) as NaN."""
    return np.array(_nulls_to_nan(values), np.float64)


def _nulls_to_nan(values):
    if isinstance(values, (list, tuple)):
        return [_nulls_to_nan(v) for v in values]
    return np.nan if values is None else values


def _t(seeds, confidence):
    """The two-sided Student-t quantile for `seeds` values; NaN below two."""
    if not seeds or seeds < 2:
        return math.nan
    return float(scipy_stats.t.ppf(0.5 + confidence / 2, seeds - 1))


def reference_optimizer(results):
    """The baseline the learned optimizer is compared with over steps: Adam, else the best."""
    if "adam" in results["optimizers"]:
        return "adam"
    ratio = results.get("ratio_to_best_baseline") or {}
    return ratio.get("baseline")


def plot_curves(results, path):
    """Loss curves (geometric mean, log-space 95% band) over a panel of learned / Adam."""
    seeds = results["seeds"]
    reference = reference_optimizer(results)
    with_ratio = "learned" in results["optimizers"] and reference is not None
    figure = Figure(figsize=(8, 7.6 if with_ratio else 5), dpi=120)
    axes = figure.subplots(
        2 if with_ratio else 1, 1, sharex=True, squeeze=False,
        gridspec_kw={"height_ratios": [3, 2] if with_ratio else [1]},
    )
    # Bands for the two optimizers compared below only: more overlap into a grey mass.
    banded = {"learned", reference} if with_ratio else None
    exact = draw_losses(axes[0][0], results, banded)
    title = (f"{results['problem']}: {len(seeds)} seeds ({seeds[0]}..{seeds[-1]}), "
             f"{results['steps']} steps")
    if results.get("data_source"):
        title += f"\non {data_words(results['data_source'])}"
    axes[0][0].set_title(title, fontsize=10)
    if with_ratio:
        _draw_ratio(axes[1][0], results, reference)
    every = curve_stats(next(iter(results["optimizers"].values())), len(seeds))[5]
    if exact:
        notes = [CURVE_BANDS]
        if every > 1:
            notes.append(f"each point: a seed's minibatch losses averaged over a block of "
                         f"{every} steps, then the geometric mean over seeds")
    else:
        notes = [CURVE_BANDS, APPROXIMATE_BANDS] if every == 1 else [NO_BANDS.format(every=every)]
    if banded is not None and set(results["optimizers"]) - banded and (exact or every == 1):
        notes.append(f"bands drawn for learned and {reference} only; other optimizers: "
                     "their lines")
    if "lbfgs" in results["optimizers"]:
        notes.append("lbfgs: full-batch loss per L-BFGS iteration")
    axes[-1][0].set_xlabel("optimizee step")
    figure.text(0.01, 0.005, "\n".join(textwrap.fill(n, 150) for n in notes), fontsize=6.5,
                color="0.35", va="bottom")
    figure.tight_layout(rect=(0, 0.012 + 0.0125 * _lines(notes), 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def data_words(source):
    """A `datasets.last_source` record in a few words, for titles and sentences."""
    return {
        "embedded": "the MNIST subset embedded in keras_l2l (4,000 training images)",
        "data_dir": "full MNIST from the data directory",
        "download": "full MNIST (downloaded)",
    }.get((source or {}).get("kind"), "MNIST")


def _lines(notes):
    return sum(len(textwrap.wrap(n, 150)) for n in notes)


def draw_losses(axis, results, banded=None):
    """One geometric-mean line per optimizer, a band for those in `banded` (default: all).

    Returns True when every curve's statistics are exact (per-seed curves stored).
    """
    seeds = len(results["seeds"])
    exact = True
    at_edge = results.get("tuning", {}).get("at_grid_edge", [])
    for index, (name, entry) in enumerate(results["optimizers"].items()):
        steps, geomean, lo, hi, per_seed, _ = curve_stats(entry, seeds)
        exact = exact and per_seed is not None
        color = COLORS.get(name, f"C{index % 10}")
        learned = name == "learned"
        label = name
        if entry.get("learning_rate") is not None and not learned:
            label += f" (lr {entry['learning_rate']:.3g}{', grid edge' if name in at_edge else ''})"
        diverged = (results.get("diverged_seeds") or {}).get(name) or []
        if diverged:
            label += f", diverged on {len(diverged)}/{seeds} seeds"
        axis.plot(steps, _positive(geomean), color=color, label=label,
                  linewidth=2.2 if learned else 1.3, zorder=3 if learned else 2,
                  linestyle=LINESTYLES.get(name, "-"))
        if banded is None or name in banded:
            axis.fill_between(steps, _positive(lo), _positive(hi), color=color,
                              alpha=0.25 if learned else 0.18, linewidth=0, zorder=1)
    axis.set_yscale("log")
    _plain_log_ticks(axis)
    label = textwrap.fill(str(results.get("loss_label", "loss")), 42)
    axis.set_ylabel(f"minibatch training loss\n{label}", fontsize=9 if "\n" in label else 10)
    axis.grid(True, which="major", alpha=0.35)
    axis.grid(True, which="minor", alpha=0.12)
    axis.legend(fontsize=8, ncol=2 if len(results["optimizers"]) > 4 else 1, framealpha=0.85)
    return exact


def _draw_ratio(axis, results, reference):
    """learned / `reference` over steps with its band and the line at 1; True if paired."""
    steps, ratio, lo, hi, exact = ratio_stats(results, "learned", reference)
    axis.axhline(1.0, color="0.2", linewidth=1.0, zorder=2)
    axis.plot(steps, _positive(ratio), color=COLORS["learned"], linewidth=1.8, zorder=3,
              label=f"learned / {reference}, geometric mean over seeds")
    if np.any(np.isfinite(lo)):
        axis.fill_between(steps, _positive(lo), _positive(hi), color=COLORS["learned"],
                          alpha=0.2, linewidth=0, zorder=1,
                          label="95% CI" + (" (paired by seed)" if exact else " (unpaired)"))
    axis.set_yscale("log")
    line = ratio[np.isfinite(ratio) & (ratio > 0)]
    band = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in (lo, hi)])
    if line.size:  # the whole line, and the band but for its 1% extremes
        low, high = line.min(), line.max()
        if band.size:
            band_low, band_high = np.percentile(band, [1, 99])
            low, high = min(low, band_low), max(high, band_high)
        axis.set_ylim(min(low, 0.8) / 1.1, max(high, 1.25) * 1.1)
    _plain_log_ticks(axis, around=1.0)
    axis.set_ylabel(f"minibatch loss ratio\nlearned / {reference}\n(below 1: learned lower)")
    axis.grid(True, which="major", alpha=0.35)
    final = _final_ratio_text(results, reference)
    if final:
        axis.set_title(final, fontsize=9)
    axis.legend(fontsize=8, loc="best", framealpha=0.85)
    return exact


def _final_ratio_text(results, reference):
    """The final eval-loss ratio vs `reference` with its paired bootstrap CI, as text."""
    entries = results["optimizers"]
    learned, base = ([math.inf if v is None else v for v in entries[name]["final_loss"]["per_seed"]]
                     for name in ("learned", reference))
    ratio, lo, hi = stats.bootstrap_ratio(learned, base)
    if not math.isfinite(ratio):
        return None
    return (f"final eval loss, learned / {reference}: {ratio_text(ratio)} "
            f"[95% CI {ratio_text(lo)}, {ratio_text(hi)}] (paired bootstrap): "
            f"{stats.verdict(lo, hi)}")


def ratio_text(value):
    """A ratio to 3 significant digits, or 4 where 3 would print a misleading "1"."""
    if value is None or not math.isfinite(value):
        return "inf" if value == math.inf else "n/a"
    text = f"{value:.3g}"
    return f"{value:.4g}" if text == "1" and value != 1 else text


def _positive(values):
    values = np.asarray(values, np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


#: Tick mantissas in order of preference: the nicest are kept first when ticks crowd.
_MANTISSAS = (1, 5, 2, 3, 1.5, 7, 4, 6, 8, 9, 1.2, 2.5, 1.1, 1.3, 1.4, 1.6, 1.8)


def _plain_log_ticks(axis, around=None):
    """Label a log y axis spanning under ~3 decades with plain numbers (0.1, 0.2, 0.9, 1.5).

    Ticks are chosen greedily by niceness (`_MANTISSAS`, with `around` first when it
    is inside the range) and kept only when at least an eighth of the axis (in log
    units) from every tick already kept, so labels never crowd. Wider ranges keep
    matplotlib's powers of ten.
    """
    low, high = axis.get_ylim()
    if not (low > 0 and high / low < 10**3.2):
        return
    span = math.log10(high / low)
    candidates = [] if around is None or not low <= around <= high else [around]
    for mantissa in _MANTISSAS:
        for decade in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
            tick = float(f"{mantissa * 10.0**decade:.3g}")
            if low <= tick <= high:
                candidates.append(tick)
    ticks = []
    for tick in candidates:
        if all(abs(math.log10(tick / kept)) >= span / 8 for kept in ticks):
            ticks.append(tick)
    if len(ticks) < 2:
        return
    ticks.sort()
    axis.set_yticks(ticks, [f"{t:g}" for t in ticks])
    axis.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_ylim(low, high)


# -- re-rendering from results.json -----------------------------------------------


def render(directory):
    """Rewrite `directory`/report.md and curves.png from its results.json (no runs)."""
    directory = Path(directory)
    results = json.loads((directory / "results.json").read_text())
    (directory / "report.md").write_text(markdown(results))
    return plot_curves(results, directory / "curves.png")


def main(argv=None):
    """`python -m keras_l2l.evaluation.report DIR...`: re-render each DIR's report and plot."""
    import sys

    for directory in (sys.argv[1:] if argv is None else argv):
        print(f"Wrote {render(directory)}")


if __name__ == "__main__":
    main()
