"""summary.md (one table) and ablations.png (one plot) of an ablation's summary."""

import math

from matplotlib import ticker
from matplotlib.figure import Figure  # not pyplot: leaves the session's backend alone

from keras_l2l.evaluation.report import _number, ratio_text
from keras_l2l.evaluation.stats import verdict


def markdown(summary):
    lines = [
        "# Ablations: how much does the LSTM matter?",
        "",
        "Each variant changes one factor of the base rule (the paper's coordinatewise LSTM, "
        "2 layers of 20 units, with the shipped preset's preprocessing and output scale) or of "
        "its meta-training, and is meta-trained with otherwise identical settings. "
        "*vs base* and *vs Adam*: mean final loss of the variant / that of the base rule or of "
        "tuned Adam on the same evaluation seeds, with a paired bootstrap 95% CI; *better* / "
        "*worse* when the CI excludes 1. *CPU-s*: meta-training CPU seconds (all threads). "
        "*state floats / coord*: the rule's per-coordinate state (Adam keeps 2). *s / step*: "
        "wall-clock seconds per optimizee step of the variant in the evaluation (a shared "
        "machine: indicative only).",
        "",
    ]
    for name, problem in summary["problems"].items():
        base = problem["variants"]["base"]
        adam = problem["adam"]
        lines.append(
            f"- **{name}**: {problem['steps']} steps, {len(problem['seeds'])} seeds, "
            f"{base['epochs']} meta-training runs per variant"
            + ("" if adam is None else
               f"; tuned Adam (rate {adam['learning_rate']:.4g}) final loss "
               f"{_number(adam['final_loss']['mean'])}")
        )
    lines += [
        "",
        "| problem | factor | variant | final loss | vs base | vs Adam | meta-params "
        "| state floats / coord | CPU-s | s / step |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, problem in summary["problems"].items():
        for variant, row in problem["variants"].items():
            cpu = f"{row['meta_train_cpu_seconds']:.0f}" + ("*" if row["cpu_time_partial"] else "")
            lines.append(
                f"| {name} | {row['factor']} | {variant} | {_number(row['final_loss']['mean'])} "
                f"| {_ratio(row['ratio_to_base'], variant == 'base')} "
                f"| {_ratio(row['ratio_to_adam'])} | {row['meta_parameters']} "
                f"| {row['state_floats_per_coordinate']} | {cpu} "
                f"| {row['seconds_per_step']:.2g} |"
            )
    lines += ["", "\\* meta-training was resumed: CPU time of the last session only.", "",
              f"Ratios: {summary['methods']['ratio']}.", "", "![ablations](ablations.png)", ""]
    return "\n".join(lines)


def _ratio(value, is_base=False):
    if value is None:
        return "n/a"
    if is_base:
        return "1"
    lo, hi = value["ci95"]
    word = {"win": " better", "loss": " worse"}.get(verdict(lo, hi), "")
    return f"{ratio_text(value['mean'])} [{_number(lo)}, {_number(hi)}]{word}"


def plot(summary, path):
    """One panel per problem: each variant's final loss / the base's with its CI (log axis),
    rows aligned across panels, and tuned Adam's final loss on the same scale."""
    problems, order = summary["problems"], summary["factors"]  # {variant: factor}, in order
    names = [v for v in order if any(v in p["variants"] for p in problems.values())][::-1]
    factors = list(dict.fromkeys(order.values()))
    figure = Figure(figsize=(4.0 * len(problems) + 1.6, 0.3 * len(names) + 1.9))
    for k, (name, problem) in enumerate(problems.items()):
        axis = figure.add_subplot(1, len(problems), k + 1)
        rows = problem["variants"]
        for y, variant in enumerate(names):
            if variant not in rows:
                text = "= base" if variant in problem["same_as_base"] else "not run"
                axis.text(1.0, y, text, ha="center", va="center", fontsize=7, color="grey")
                continue
            mean, (lo, hi) = (rows[variant]["ratio_to_base"][k] for k in ("mean", "ci95"))
            if not all(math.isfinite(v) for v in (mean, lo, hi)):
                axis.text(1.0, y, "diverged", ha="center", va="center", fontsize=7)
                continue
            colour = f"C{factors.index(rows[variant]['factor'])}"
            axis.errorbar(mean, y, xerr=[[mean - lo], [hi - mean]], fmt="o", color=colour,
                          capsize=2)
        axis.axvline(1.0, color="grey", lw=0.8)
        if problem["adam"] is not None:
            adam = problem["adam"]["final_loss"]["mean"] / rows["base"]["final_loss"]["mean"]
            axis.axvline(adam, color="black", ls="--", lw=0.8, label="tuned Adam")
            axis.legend(loc="lower right", fontsize=7)
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_yticks(range(len(names)))
        axis.set_ylim(-0.7, len(names) - 0.3)
        axis.set_yticklabels([_label(v, rows.get(v)) for v in names], fontsize=7)
        axis.set_xlabel("final loss / base rule's (log)", fontsize=8)
        axis.set_title(f"{name}: {problem['steps']} steps, {len(problem['seeds'])} seeds, "
                       f"{rows['base']['epochs']} meta-runs", fontsize=9)
    figure.suptitle("How much does the LSTM matter? One factor changed per variant; "
                    "95% paired bootstrap CIs over seeds", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _label(variant, row):
    return variant if row is None else f"{variant} ({row['meta_train_cpu_seconds'] / 60:.1f} CPU-min)"
