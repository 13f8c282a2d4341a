"""Per-task ratios at 5,000 steps of several `general` versions, and their geometric means.

    python results/suite-full-v3/geomean_5000.py            # general-v3 and general-v2
    python results/suite-full-v3/geomean_5000.py v4 v3 v2   # the first gets the CIs

Reads results/suite-full-<version>/<task>/5000/results.json for every task where all exist
(the 5,000-step suite is finished task by task; a suite call's summary covers only the
tasks of that call). Ratio: mean final loss over that of the best tuned baseline. Last,
the code commits the learned runs of each version came from (`git_hash` in results.json;
earlier runs did not record it): on a chaotic task, a float-rounding change moves a ratio
(results/general-v3/rows_lstm_rounding.md).
"""

import json
import math
import sys
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


def main(versions=("v3", "v2")):
    rows = {version: ratios(version) for version in versions}
    first, *others = versions
    tasks = [task for task in rows[first] if all(task in rows[v] for v in others)]
    print(f"| task | `general-{first}` / best tuned [95% CI] | "
          + "".join(f"`general-{v}` | " for v in others) + "best tuned baseline |")
    print("|---|---|" + "---|" * len(others) + "---|")
    for task in tasks:
        mean, ci, best, _ = rows[first][task]
        print(f"| {task} | {mean:.3g} [{ci[0]:.3g}, {ci[1]:.3g}] | "
              + "".join(f"{rows[v][task][0]:.3g} | " for v in others) + f"{best} |")
    geomean = lambda found: math.exp(sum(math.log(found[t][0]) for t in tasks) / len(tasks))
    print(f"| geometric mean over {len(tasks)} | "
          + "".join(f"{geomean(rows[v]):.3g} | " for v in versions) + "|")
    for version in versions:
        commits = sorted({rows[version][t][3][:7] if rows[version][t][3] else "(not recorded)"
                          for t in tasks})
        print(f"\n`general-{version}`'s learned runs, code of git: {', '.join(commits)}")


if __name__ == "__main__":
    main(sys.argv[1:] or ("v3", "v2"))
