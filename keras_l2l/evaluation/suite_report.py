"""summary.json, summary.md and suite.png of a held-out suite run (see `suite.run_suite`)."""

import math
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402

from keras_l2l.evaluation.report import _number, write_json  # noqa: E402

ABOVE = 1.25  # the line drawn and counted: a task above it is lost (issue 11's target)


def write_summary(summary, out, command=None):
    """Write OUT/summary.json (non-finite numbers as null), summary.md and suite.png."""
    out = Path(out)
    summary = {**summary, "command": command}
    write_json(summary, out / "summary.json")
    (out / "summary.md").write_text(markdown(summary))
    plot_ratios(summary, out / "suite.png")


def markdown(summary):
    """The summary report: geometric means, one table per horizon, tasks, methods, command."""
    learned = summary["learned"]
    name = learned["preset"] or learned["rule"]["class"]
    lines = [
        f"# Held-out suite `{summary['suite']}`: `{name}`",
        "",
        f"{len(summary['tasks'])} tasks, {len(summary['seeds'])} evaluation seeds, "
        f"baselines {', '.join(summary['baselines'])}, each with its learning rate tuned per "
        f"task and horizon on seeds {summary['tuning']['seeds']} over "
        f"{summary['tuning']['grid']}. A ratio is the learned optimizer's mean final loss "
        "over a tuned baseline's: below 1, the learned optimizer is better.",
        "",
        *_geomean_table(summary),
        "",
        "![learned / best tuned baseline per task](suite.png)",
        "",
    ]
    for horizon in summary["horizons"]:
        lines += _horizon_table(summary, str(horizon)) + [""]
    lines += ["## Tasks", ""]
    lines += [f"- `{task}`: {text}" for task, text in summary["tasks"].items()]
    lines += ["", "## Methods", ""]
    lines += [f"- {key.replace('_', ' ')}: {text}" for key, text in summary["methods"].items()]
    lines += [f"- learned rule: `{learned['rule']}`; weights sha256 {learned['weights_sha256']}",
              "", "## Command", "", "```", str(summary.get("command")), "```", ""]
    return "\n".join(lines)


def _geomean_table(summary):
    lines = [
        "| horizon | geometric mean vs best tuned baseline | vs tuned Adam "
        f"| tasks above {ABOVE} (vs best) | tasks where the learned optimizer diverged |",
        "|---|---|---|---|---|",
    ]
    for horizon, entry in summary["per_horizon"].items():
        above = entry.get(f"tasks_above_{ABOVE}_ratio_to_best", [])
        diverged = entry["tasks_where_learned_diverged"]
        lines.append(
            f"| {horizon} | {_number(entry.get('geomean_ratio_to_best'))} "
            f"| {_number(entry.get('geomean_ratio_to_adam'))} "
            f"| {len(above)}{_listed(above)} | {len(diverged)}{_listed(diverged)} |"
        )
    return lines


def _listed(names):
    return f" ({', '.join(names)})" if names else ""


def _horizon_table(summary, horizon):
    lines = [
        f"## {horizon} steps",
        "",
        "| task | learned final loss | best tuned baseline (loss) | ratio vs best [95% CI] "
        "| ratio vs Adam [95% CI] | Adam steps to match | diverged seeds "
        "| s / 100 steps (learned, Adam) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, by_horizon in summary["results"].items():
        row = by_horizon[horizon]
        best = f"{row['best_baseline']} ({_number(row['best_baseline_final_loss'])})"
        seconds = row["seconds_per_step"]
        timing = ", ".join(_number(100 * seconds[k]) for k in ("learned", "adam") if k in seconds)
        lines.append(
            f"| [{task}]({task}/{horizon}/report.md) | {_number(row['learned_final_loss'])} "
            f"| {best} | {_ratio_cell(row['ratio_to_best'])} "
            f"| {_ratio_cell(row['ratio_to_adam'])} "
            f"| {_match_cell(row['adam_steps_to_match'], horizon)} "
            f"| {_diverged_cell(row['diverged_seeds'], len(summary['seeds']))} | {timing} |"
        )
    return lines


def _ratio_cell(ratio):
    if ratio is None:
        return "n/a"
    lo, hi = ratio["ci95"]
    if ratio["mean"] is None or not math.isfinite(ratio["mean"]):
        return _number(ratio["mean"])
    return f"{_number(ratio['mean'])} [{_number(lo)}, {_number(hi)}]"


def _match_cell(match, horizon):
    if match is None or match["reached"] is None:
        return "n/a"
    return str(match["steps"]) if match["reached"] else f">{horizon}"


def _diverged_cell(diverged, seeds):
    cells = [f"{name} {len(found)}/{seeds}" for name, found in diverged.items() if found]
    return ", ".join(cells) or "none"


# -- plot --------------------------------------------------------------------------


def plot_ratios(summary, path):
    """One panel per horizon: learned / best tuned baseline per task, 95% CI, log axis."""
    tasks = list(summary["tasks"]) + ["geometric mean"]
    horizons = [str(h) for h in summary["horizons"]]
    panels = {h: _panel_values(summary, h) for h in horizons}
    limits = _limits([v for values in panels.values() for row in values for v in row])
    figure, axes = plt.subplots(
        1, len(horizons), figsize=(3.2 * len(horizons) + 3.2, 0.42 * len(tasks) + 1.6),
        dpi=120, sharey=True, squeeze=False,
    )
    for axis, horizon in zip(axes[0], horizons):
        _draw_panel(axis, panels[horizon], limits)
        axis.set_title(f"{horizon} steps")
    axes[0][0].set_yticks(range(len(tasks)), tasks)
    axes[0][0].invert_yaxis()
    name = summary["learned"]["preset"] or summary["learned"]["rule"]["class"]
    figure.suptitle(f"{name}: mean final loss / the best tuned baseline's\n95% CI over "
                    f"{len(summary['seeds'])} seeds; left of 1: the learned optimizer is better",
                    fontsize=10)
    figure.text(0.01, 0.01, f"green < 1 <= orange <= {ABOVE} (dashed) < red; black: geometric "
                "mean over tasks", fontsize=7, color="0.4")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    plt.close(figure)


def _panel_values(summary, horizon):
    """`[(ratio, lo, hi)]` per task, then the geometric mean (no CI); NaN for nulls."""
    values = []
    for by_horizon in summary["results"].values():
        ratio = by_horizon[horizon]["ratio_to_best"]
        values.append(tuple(_float(v) for v in (ratio["mean"], *ratio["ci95"])))
    geomean = _float(summary["per_horizon"][horizon].get("geomean_ratio_to_best"))
    return values + [(geomean, math.nan, math.nan)]


def _float(value):
    return math.nan if value is None else float(value)


def _limits(values):
    finite = [v for v in values if math.isfinite(v) and v > 0]
    return min([0.5, *finite]) / 1.2, max([2.0, *finite]) * 1.2


def _ticks(limits):
    """At most 7 powers of 2 inside `limits`, labelled as plain numbers (0.5, 1, 2, 4)."""
    low, high = (math.ceil(math.log2(limits[0])), math.floor(math.log2(limits[1])))
    exponents = list(range(low, high + 1))
    stride = max(1, math.ceil(len(exponents) / 7))
    return [2.0**e for e in exponents if e % stride == 0]


def _draw_panel(axis, values, limits):
    axis.set_xscale("log")
    axis.set_xlim(*limits)
    ticks = _ticks(limits)
    axis.set_xticks(ticks, [f"{t:g}" for t in ticks])
    axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for row, (ratio, lo, hi) in enumerate(values):
        if not math.isfinite(ratio):
            label = "diverged" if ratio == math.inf else "n/a"
            axis.text(1.0, row, f" {label}", va="center", fontsize=8, color="darkred")
            continue
        color = "tab:green" if ratio < 1 else ("tab:orange" if ratio <= ABOVE else "tab:red")
        if row == len(values) - 1:
            color = "black"
        axis.barh(row, ratio - 1.0, left=1.0, height=0.6, color=color, alpha=0.8)
        if math.isfinite(lo) and math.isfinite(hi):
            axis.errorbar(ratio, row, xerr=[[ratio - lo], [hi - ratio]], fmt="none",
                          ecolor="0.2", capsize=3, linewidth=1)
    axis.axvline(1.0, color="0.3", linewidth=1)
    axis.axvline(ABOVE, color="tab:red", linewidth=1, linestyle="--")
    axis.axhline(len(values) - 1.5, color="0.7", linewidth=0.8)
    axis.grid(True, axis="x", which="both", alpha=0.3)
    axis.set_xlabel("ratio (log scale)")
