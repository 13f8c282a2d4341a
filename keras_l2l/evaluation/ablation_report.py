"""summary.md (one table) and ablations.png (one plot) of an ablation's summary."""

import math

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
        "*worse* when the CI excludes 1. *CPU-s*: meta-training CPU seconds (all threads).",
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
    """One panel per problem: each variant's final loss / the base's, with its CI (log axis)."""
    problems = summary["problems"]
    rows = max(len(p["variants"]) for p in problems.values())
    figure = Figure(figsize=(4.2 * len(problems) + 1.5, 0.32 * rows + 1.8))
    for k, (name, problem) in enumerate(problems.items()):
        axis = figure.add_subplot(1, len(problems), k + 1)
        variants = list(problem["variants"].items())[::-1]
        factors = list(dict.fromkeys(row["factor"] for _, row in variants))
        colours = {f: f"C{i}" for i, f in enumerate(factors)}
        for y, (variant, row) in enumerate(variants):
            value = row["ratio_to_base"]
            lo, hi = value["ci95"]
            mean = value["mean"]
            if not (math.isfinite(mean) and math.isfinite(lo) and math.isfinite(hi)):
                axis.text(1.0, y, "diverged", ha="center", va="center", fontsize=8)
                continue
            axis.errorbar(mean, y, xerr=[[mean - lo], [hi - mean]], fmt="o",
                          color=colours[row["factor"]], capsize=2)
        axis.axvline(1.0, color="grey", lw=0.8)
        axis.set_xscale("log")
        axis.set_yticks(range(len(variants)))
        axis.set_yticklabels([f"{v} ({row['meta_train_cpu_seconds'] / 60:.1f} CPU-min)"
                              for v, row in variants], fontsize=8)
        axis.set_xlabel("final loss / base rule's (log; 95% paired bootstrap CI)")
        axis.set_title(f"{name}: {problem['steps']} steps, {len(problem['seeds'])} seeds",
                       fontsize=10)
    figure.suptitle("How much does the LSTM matter? Each variant changes one factor",
                    fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
