"""Cost of learning vs cost of tuning (issue 11 item 5): python results/general/cost.py

Meta-training `general` (the version it names now) is paid once: its provenance
records the CPU-hours, counting the versions it was continued from.
What it replaces is a learning-rate sweep per new task: this reads the held-out
suite's results (results/suite*/<task>/<steps>/results.json) and adds up, per
baseline, the sweep each task and horizon needed there: grid points x tuning
seeds x steps x the baseline's measured seconds per step. Seconds per step are
wall-clock on this 2-core machine (TensorFlow uses both cores), so the sweep's
CPU-hours are at most twice the wall-clock hours printed.
"""

import json
from pathlib import Path

from keras_l2l import presets

ROOT = Path(__file__).resolve().parents[1]
SUITE_DIRS = ("suite", "suite-1000")  # the held-out suite at 200 and at 1,000 steps


def sweep_hours(suite_dir):
    """`({baseline: wall-clock hours of its sweeps}, number of (task, horizon) pairs)`."""
    hours, pairs = {}, 0
    for path in sorted(suite_dir.glob("*/*/results.json")):
        results = json.loads(path.read_text())
        runs = len(results["tuning"]["grid"]) * len(results["tuning"]["seeds"])
        for name in results["tuning"]["mean_final_loss"]:
            seconds = results["optimizers"][name]["seconds_per_step"] * results["steps"] * runs
            hours[name] = hours.get(name, 0.0) + seconds / 3600
        pairs += 1
    return hours, pairs


def main():
    version = presets.ALIASES.get("general", "general")
    provenance = json.loads((presets.resolve(version) / "provenance.json").read_text())
    hours, pairs = {}, 0
    for suite_dir in SUITE_DIRS:
        suite_hours, suite_pairs = sweep_hours(ROOT / suite_dir)
        pairs += suite_pairs
        for name, value in suite_hours.items():
            hours[name] = hours.get(name, 0.0) + value
    lines = [
        "# Cost of learning vs cost of tuning",
        "",
        f"Meta-training `general` (= `{version}`), once: {provenance['cpu_hours']} CPU-hours "
        f"({provenance.get('cpu_hours_how', 'its meta-train process')}).",
        "",
        f"Learning-rate sweeps on the held-out suite ({pairs} task-horizon pairs, the grid and "
        "tuning seeds recorded in each results.json), wall-clock hours per baseline:",
        "",
        "| baseline | sweep hours | sweep hours / meta-training CPU-hours |",
        "|---|---|---|",
    ]
    for name, value in sorted(hours.items()):
        ratio = value / provenance["cpu_hours"] if provenance["cpu_hours"] else float("nan")
        lines.append(f"| {name} | {value:.3f} | {ratio:.2f} |")
    lines += ["", "Command: `python results/general/cost.py`", ""]
    text = "\n".join(lines)
    (ROOT / "general" / "cost.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
