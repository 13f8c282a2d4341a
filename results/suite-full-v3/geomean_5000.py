"""Per-task ratios at 5,000 steps, `general-v3` and `general-v2`, and their geometric means.

    python results/suite-full-v3/geomean_5000.py

Reads results/suite-full-v{2,3}/<task>/5000/results.json for every task where both exist
(the 5,000-step suite is finished task by task; a suite call's summary covers only the
tasks of that call). Ratio: mean final loss over that of the best tuned baseline. Last,
the code commits the learned runs of each version came from (`git_hash` in results.json;
earlier runs did not record it): on a chaotic task, a float-rounding change moves a ratio
(results/general-v3/rows_lstm_rounding.md).
"""

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ratios(version):
    """`{task: (ratio, ci95, best baseline, git hash)}` of suite-full-<version> at 5,000 steps."""
    found = {}
    for path in sorted((ROOT / f"suite-full-{version}").glob("*/5000/results.json")):
        results = json.loads(path.read_text())
        ratio = results["ratio_to_best_baseline"]
        found[path.parts[-3]] = (ratio["mean"], ratio["ci95"], ratio["baseline"],
                                 results.get("git_hash"))
    return found


def main():
    v3, v2 = ratios("v3"), ratios("v2")
    tasks = [task for task in v3 if task in v2]
    print("| task | `general-v3` / best tuned [95% CI] | `general-v2` | best tuned baseline |")
    print("|---|---|---|---|")
    for task in tasks:
        (mean, ci, best, _), old = v3[task], v2[task][0]
        print(f"| {task} | {mean:.3g} [{ci[0]:.3g}, {ci[1]:.3g}] | {old:.3g} | {best} |")
    geomean = lambda rows: math.exp(sum(math.log(rows[t][0]) for t in tasks) / len(tasks))
    print(f"| geometric mean over {len(tasks)} | {geomean(v3):.3g} | {geomean(v2):.3g} | |")
    for name, rows in (("general-v3", v3), ("general-v2", v2)):
        commits = sorted({rows[t][3][:7] if rows[t][3] else "(not recorded)" for t in tasks})
        print(f"\n`{name}`'s learned runs, code of git: {', '.join(commits)}")


if __name__ == "__main__":
    main()
