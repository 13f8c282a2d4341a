"""summary.json, summary.md and suite.png of a held-out suite run (see `suite.run_suite`)."""

import math
import textwrap
from pathlib import Path

import matplotlib.patches
import matplotlib.ticker
from matplotlib.figure import Figure  # not pyplot: leaves the session's backend alone

from keras_l2l.evaluation.report import _number, write_json

ABOVE = 1.25  # the line drawn and counted: a task above it is lost (issue 11's target)


def render(out):
    """Rewrite OUT/summary.md and suite.png from OUT/summary.json (no runs)."""
    import json

    out = Path(out)
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.md").write_text(markdown(summary))
    plot_ratios(summary, out / "suite.png")
    return out / "suite.png"


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
        f"{summary['tuning']['grid']}{_anneal_words(summary)}. A ratio is the learned optimizer's mean final loss "
        "over a tuned baseline's: below 1, the learned optimizer is better.",
        "",
        *_geomean_table(summary),
        "",
        "![learned / best tuned baseline and / tuned Adam per task](suite.png)",
        "",
    ]
    for horizon in summary["horizons"]:
        lines += _horizon_table(summary, str(horizon)) + [""]
    lines += ["## Tasks", ""]
    lines += [f"- `{task}`: {text}" for task, text in summary["tasks"].items()]
    lines += ["", "## Methods", ""]
    lines += [f"- {key.replace('_', ' ')}: {text}" for key, text in summary["methods"].items()]
    lines += [f"- baselines reused (tuning, runs and step times) from the evaluations of "
              f"`{command}`" for command in summary.get("baselines_reused_from", [])]
    lines += [f"- learned rule: `{learned['rule']}`; weights sha256 {learned['weights_sha256']}",
              "", "## Command", "", "```", str(summary.get("command")), "```", ""]
    return "\n".join(lines)


def _geomean_table(summary):
    tuned = _has_tuned(summary)
    lines = [
        "| horizon | geometric mean vs best tuned baseline | vs tuned Adam "
        f"| tasks above {ABOVE} (vs best) | tasks where the learned optimizer diverged |"
        + (" learned with its step multiplier tuned too, vs best |" if tuned else ""),
        "|---|---|---|---|---|" + ("---|" if tuned else ""),
    ]
    for horizon, entry in summary["per_horizon"].items():
        above = entry.get(f"tasks_above_{ABOVE}_ratio_to_best", [])
        diverged = entry["tasks_where_learned_diverged"]
        lines.append(
            f"| {horizon} | {_number(entry.get('geomean_ratio_to_best'))} "
            f"| {_number(entry.get('geomean_ratio_to_adam'))} "
            f"| {len(above)}{_listed(above)} | {len(diverged)}{_listed(diverged)} |"
            + (f" {_number(entry.get('geomean_ratio_tuned_to_best'))} |" if tuned else "")
        )
    return lines


def _has_tuned(summary):
    """Whether the suite ran the learned rule with its step multiplier tuned too (`--tune-learned`)."""
    return any(row.get("ratio_tuned_to_best") is not None
               for by_horizon in summary["results"].values() for row in by_horizon.values())


def _listed(names):
    return f" ({', '.join(names)})" if names else ""


def _horizon_table(summary, horizon):
    tuned = _has_tuned(summary)
    lines = [
        f"## {horizon} steps",
        "",
        "| task | learned final loss | best tuned baseline (loss) | ratio vs best [95% CI] "
        "| ratio vs Adam [95% CI] | Adam steps to match | diverged seeds "
        "| s / 100 steps (learned, Adam) |"
        + (" multiplier tuned: ratio vs best [95% CI] (multiplier) |" if tuned else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if tuned else ""),
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
            + (f" {_tuned_cell(row)} |" if tuned else "")
        )
    return lines


def _ratio_cell(ratio):
    if ratio is None:
        return "n/a"
    lo, hi = ratio["ci95"]
    if ratio["mean"] is None or not math.isfinite(ratio["mean"]):
        return _number(ratio["mean"])
    return f"{_number(ratio['mean'])} [{_number(lo)}, {_number(hi)}]"


def _tuned_cell(row):
    multiplier = row["learning_rates"].get("learned_tuned")
    if row.get("ratio_tuned_to_best") is None:
        return "n/a"
    return f"{_ratio_cell(row['ratio_tuned_to_best'])} ({_number(multiplier)})"


def _match_cell(match, horizon):
    if match is None or match["reached"] is None:
        return "n/a"
    return str(match["steps"]) if match["reached"] else f">{horizon}"


def _diverged_cell(diverged, seeds):
    cells = [f"{name} {len(found)}/{seeds}" for name, found in diverged.items() if found]
    return ", ".join(cells) or "none"


# -- plot --------------------------------------------------------------------------


#: The ratios drawn per task: (summary key, legend label, colour); the third only where the
#: suite ran with `--tune-learned`.
SERIES = (
    ("ratio_to_best", "learned / best tuned baseline", "tab:blue"),
    ("ratio_to_adam", "learned / tuned Adam", "tab:orange"),
    ("ratio_tuned_to_best", "learned, step multiplier tuned / best tuned baseline", "tab:green"),
)


def plot_ratios(summary, path):
    """One panel per horizon: per task, learned / best tuned and / tuned Adam (and tuned
    itself / best tuned), 95% CI, log axis."""
    horizons = [str(h) for h in summary["horizons"]]
    tasks = list(summary["tasks"])
    panels = {h: panel_values(summary, h) for h in horizons}
    limits = _limits([v for panel in panels.values() for rows in panel.values()
                      for row in rows for v in row])
    labels = [_task_label(summary, task, horizons) for task in tasks] + ["geometric mean"]
    figure = Figure(figsize=(3.6 * len(horizons) + 3.6, 0.55 * len(labels) + 2.0), dpi=120)
    axes = figure.subplots(1, len(horizons), sharey=True, squeeze=False)
    for axis, horizon in zip(axes[0], horizons):
        _draw_panel(axis, panels[horizon], limits)
        axis.set_title(f"{horizon} steps", fontsize=10)
    axes[0][0].set_yticks(range(len(labels)), labels, fontsize=8.5)
    axes[0][0].invert_yaxis()
    handles = [matplotlib.patches.Patch(color=color, alpha=0.85, label=label)
               for _, label, color in SERIES if any(panels[h].get(_) for h in horizons)]
    figure.legend(handles=handles, fontsize=8, loc="lower center", ncol=len(handles),
                  bbox_to_anchor=(0.5, 0.035), frameon=False)
    name = summary["learned"]["preset"] or summary["learned"]["rule"]["class"]
    figure.suptitle(f"{name} on the held-out suite: mean final loss ratio per task\n"
                    f"95% CI over {len(summary['seeds'])} seeds (paired bootstrap); "
                    "left of 1: the learned optimizer is better", fontsize=10)
    note = (f"Bars start at 1; whiskers: 95% CI; dashed red line: {ABOVE}; numbers: the "
            "ratio; the geometric mean over tasks has no CI; (best: X): the best tuned "
            "baseline, where it is not Adam.")
    figure.text(0.01, 0.008, textwrap.fill(note, 110), fontsize=6.5, color="0.35")
    figure.tight_layout(rect=(0, 0.075, 1, 1))
    figure.savefig(path)


def _task_label(summary, task, horizons):
    best = {summary["results"][task][h]["best_baseline"] for h in horizons} - {"adam", None}
    return f"{task} (best: {', '.join(sorted(best))})" if best else task


def panel_values(summary, horizon):
    """`{summary key: [(ratio, lo, hi)] per task, then the geometric mean (NaN CI)}`.

    Nulls become NaN; a series absent from the summary (no Adam run, no `--tune-learned`)
    is left out.
    """
    values = {}
    for key, _, _ in SERIES:
        rows = [by_horizon[horizon].get(key) for by_horizon in summary["results"].values()]
        if any(row is None for row in rows):
            continue
        values[key] = [tuple(_float(v) for v in (row["mean"], *row["ci95"])) for row in rows]
        geomean = _float(summary["per_horizon"][horizon].get(f"geomean_{key}"))
        values[key].append((geomean, math.nan, math.nan))
    return values


def _float(value):
    return math.nan if value is None else float(value)


def _limits(values):
    finite = [v for v in values if math.isfinite(v) and v > 0]
    return min([0.5, *finite]) / 1.3, max([2.0, *finite]) * 1.6


def _ticks(limits):
    """At most 7 powers of 2 inside `limits`, labelled as plain numbers (0.5, 1, 2, 4)."""
    low, high = (math.ceil(math.log2(limits[0])), math.floor(math.log2(limits[1])))
    exponents = list(range(low, high + 1))
    stride = max(1, math.ceil(len(exponents) / 7))
    return [2.0**e for e in exponents if e % stride == 0]


def _draw_panel(axis, panel, limits):
    axis.set_xscale("log")
    axis.set_xlim(*limits)
    ticks = _ticks(limits)
    axis.set_xticks(ticks, [f"{t:g}" for t in ticks])
    axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    height = 0.8 / max(1, len(panel))
    for number, (key, values) in enumerate(panel.items()):
        color = dict((k, c) for k, _, c in SERIES)[key]
        offset = (number - (len(panel) - 1) / 2) * height
        for row, (ratio, lo, hi) in enumerate(values):
            y = row + offset
            if not math.isfinite(ratio):
                label = "diverged" if ratio == math.inf else "n/a"
                axis.text(1.02, y, label, va="center", fontsize=7, color="darkred")
                continue
            last = row == len(values) - 1
            axis.barh(y, ratio - 1.0, left=1.0, height=height * 0.9, color=color,
                      alpha=1.0 if last else 0.8, edgecolor="black" if last else "none",
                      linewidth=0.8)
            low, high = min(ratio, 1.0), max(ratio, 1.0)
            if math.isfinite(lo) and math.isfinite(hi):
                axis.errorbar(ratio, y, xerr=[[ratio - lo], [hi - ratio]], fmt="none",
                              ecolor="0.15", capsize=2, linewidth=0.9)
                low, high = min(low, lo), max(high, hi)
            if ratio < 1:  # the number goes on the bar's far side, clear of the line at 1
                axis.text(low / 1.04, y, f"{ratio:.2f}", va="center", ha="right", fontsize=6.5,
                          color="0.2")
            else:
                axis.text(high * 1.04, y, f"{ratio:.2f}", va="center", fontsize=6.5, color="0.2")
    rows = len(next(iter(panel.values()))) if panel else 0
    axis.axvline(1.0, color="0.2", linewidth=1)
    axis.axvline(ABOVE, color="tab:red", linewidth=1, linestyle="--")
    axis.axhline(rows - 1.5, color="0.6", linewidth=0.8)
    axis.grid(True, axis="x", which="both", alpha=0.3)
    axis.set_xlabel("ratio of mean final losses (log scale)")


def main(argv=None):
    """`python -m keras_l2l.evaluation.suite_report OUT...`: re-render each suite summary."""
    import sys

    for out in (sys.argv[1:] if argv is None else argv):
        print(f"Wrote {render(out)}")


def _anneal_words(summary):
    """How the baselines' learning rates were scheduled, if not constant."""
    fraction = summary["tuning"].get("baselines_anneal")
    if fraction is None:
        return ""
    return (f", with a learning rate falling linearly to 0 over the run's last {fraction:g} "
            "(`--baselines-anneal`)")


if __name__ == "__main__":
    main()
