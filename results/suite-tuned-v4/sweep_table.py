"""The table of sweep_training_tasks.sh: learned / tuned tailed Adam per problem and multiplier.

    python results/suite-tuned-v4/sweep_table.py [OUT [HEADER]]   # default /tmp/v4-multiplier-sweep x

Columns are OUT/<problem>/s<value> runs, headed HEADER<value> (results/step-adaptation's
sweep passes "B=").
"""

import json
import math
import sys
from pathlib import Path


def main(out, header="x"):
    rows = {}
    for path in sorted(Path(out).glob("*/s*/results.json")):
        results = json.loads(path.read_text())
        rows.setdefault(path.parts[-3], {})[path.parts[-2]] = results["ratio_to_best_baseline"]["mean"]
    columns = sorted({s for row in rows.values() for s in row}, key=lambda s: float(s[1:]))
    print("| problem | " + " | ".join(f"{header}{s[1:]}" for s in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for problem, row in rows.items():
        print(f"| {problem} | " + " | ".join(f"{row[s]:.3f}" if s in row else "-" for s in columns) + " |")
    complete = [row for row in rows.values() if all(s in row for s in columns)]
    means = [math.exp(sum(math.log(row[s]) for row in complete) / len(complete)) for s in columns]
    print(f"| geometric mean ({len(complete)} complete rows) | "
          + " | ".join(f"{m:.3f}" for m in means) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:3]) if len(sys.argv) > 1 else main("/tmp/v4-multiplier-sweep")
