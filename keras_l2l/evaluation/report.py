"""results.json, a markdown report and a loss-curve plot from an evaluation's results."""

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402

from keras_l2l.evaluation.tuning import describe_grid  # noqa: E402


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
    ratio = results.get("ratio_to_best_baseline")
    if ratio is None:
        return "n/a"
    if name == "learned":
        lo, hi = ratio["ci95"]
        return f"{_number(ratio['mean'])} [{_number(lo)}, {_number(hi)}]"
    best = results["optimizers"][ratio["baseline"]]["final_loss"]["mean"]
    mean = results["optimizers"][name]["final_loss"]["mean"]
    if mean is None or best is None or best == 0:
        return "n/a"
    return _number(mean / best)


def markdown(results):
    """The report: a results table, how to read it, the settings and the command."""
    lines = [
        f"# Evaluation on `{results['problem']}`",
        "",
        *_table(results),
        "",
        "![loss curves](curves.png)",
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
        "were tuned on separate seeds; `learned` runs its meta-weights as trained (rate 1).",
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
    return lines + [
        f"- problem: `{results['problem']}`; loss: {results.get('loss_label', 'loss')}",
        f"- evaluation set: {results['eval_set']}",
        f"- steps: {results['steps']}; evaluation seeds: {results['seeds']}",
        f"- tuning seeds: {tuning.get('seeds')}; learning-rate grid: "
        f"{describe_grid(tuning.get('grid') or [])}; choice: {tuning.get('criterion')}; "
        "\"grid edge\": the best rate is the grid's smallest or largest, so the optimum "
        "may lie outside it",
        "- lbfgs: full-batch L-BFGS-B (scipy, maxiter = steps); its curve is the full-batch "
        "loss per iteration, a second-order reference without minibatch noise",
        "- s/step: wall-clock seconds per optimizee step of the compiled rollout (after a "
        "warm-up trace), measured in this run on a possibly shared machine",
        f"- learned rule: `{results.get('learned_rule')}`",
        f"- diverged seeds (non-finite final loss): {results.get('diverged_seeds')}",
        f"- skipped: {results.get('skipped') or 'none'}",
        f"- keras_l2l version: {results.get('package_version')}",
        f"- {results.get('nulls', 'null in results.json marks a non-finite value')}",
    ]


def plot_curves(results, path):
    """Mean minibatch loss per step with its shaded 95% band, one line per optimizer."""
    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    bands = {
        name: {k: np.array(v, dtype=float) for k, v in entry["curve"].items()}
        for name, entry in results["optimizers"].items()
    }
    means = np.concatenate([b["mean"] for b in bands.values()])
    positive = means[np.isfinite(means) & (means > 0)]
    floor = positive.min() / 2 if positive.size else 1e-12
    for name, b in bands.items():
        steps = np.arange(len(b["mean"]))
        (line,) = axes.plot(steps, b["mean"], label=name, linewidth=1.5)
        lo = np.maximum(np.nan_to_num(b["lo"], nan=floor), floor)
        axes.fill_between(steps, lo, b["hi"], color=line.get_color(), alpha=0.2, linewidth=0)
    seeds = results["seeds"]
    axes.set_yscale("log")
    axes.set_xlabel("optimizee step")
    axes.set_ylabel(f"minibatch training loss: {results.get('loss_label', 'loss')}")
    title = f"{results['problem']}: mean and 95% CI over {len(seeds)} seeds ({seeds[0]}..{seeds[-1]})"
    if "lbfgs" in bands:
        title += "\n(lbfgs: full-batch loss per iteration)"
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    note = "shaded: 95% Student-t band over seeds, cut at the plot's floor where it reaches <= 0"
    figure.text(0.01, 0.01, note, fontsize=7, color="0.4")
    axes.legend()
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    plt.close(figure)
