"""Performance benchmarks of keras_l2l: update efficiency, fit overhead, memory, meta-training.

    python benchmarks/run.py [--quick] [--out results] [--sections update,fit,memory,meta]

Prints a table per section and a table of targets, and writes
`<out>/benchmarks.md` and `<out>/benchmarks.json`. Every figure that depends on
the machine's speed is a ratio of two measurements taken side by side in the
same process (A, B, A, B, ... and medians), so that a loaded machine slows both
sides alike. One module per measurement (update, fit, memory, meta), the report
in report.py; see benchmarks/README.md for what each figure means.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

# The sibling modules below are imported by plain name, also when this file is
# not run as a script (then its folder is not on sys.path by itself).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import log  # noqa: E402  (first: sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from fit import bench_fit  # noqa: E402
from memory import PEAK_RUNS, PEAK_SIZES, bench_memory  # noqa: E402
from meta import bench_meta  # noqa: E402
from report import evaluate_targets, render  # noqa: E402
from update import bench_update  # noqa: E402

SECTIONS = ("update", "fit", "memory", "meta")
# Memory first: its 10M-parameter subprocesses (up to ~13 GB each) then run while
# this process is still small, before the 10M-coordinate update timing.
RUN_ORDER = ("memory", "update", "fit", "meta")


def section_runners(quick):
    """`{section: no-argument callable}` with the sizes and rounds of a quick or full run."""
    return {
        "update": lambda: bench_update(
            [16_384, 1_000_000] + ([] if quick else [10_000_000]),
            rounds=3 if quick else 5,
        ),
        "fit": lambda: bench_fit(steps=20 if quick else 40, rounds=7 if quick else 9),
        "memory": lambda: bench_memory(
            peak_sizes=PEAK_SIZES[:2] if quick else PEAK_SIZES,
            peak_runs=PEAK_RUNS[:6] if quick else PEAK_RUNS,
        ),
        "meta": lambda: bench_meta(epochs=4 if quick else 8),
    }


def load_average():
    """Rounded 1, 5, 15 min load averages: the report says how loaded the machine was."""
    return [round(x, 2) for x in os.getloadavg()]


def run_sections(sections, quick):
    """`results` with the environment, each chosen section's results, and the targets."""
    start = time.perf_counter()
    environment = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "quick": quick,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_start": load_average(),
    }
    results = {"environment": environment}
    environment["sections"] = {}
    runners = section_runners(quick)
    for section in RUN_ORDER:
        if section in sections:
            section_start = time.perf_counter()
            results[section] = runners[section]()
            environment["sections"][section] = {
                "wall_s": round(time.perf_counter() - section_start, 1),
                "load_after": load_average(),
            }
    environment["load_end"] = load_average()
    environment["wall_s"] = time.perf_counter() - start
    results["targets"] = evaluate_targets(results)
    return results


def main(argv=None):
    """Parse the flags, run the chosen sections, print the report and write both files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and rounds")
    parser.add_argument("--out", default="results", help="output directory")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")

    results = run_sections(sections, args.quick)
    report = render(results)
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.md").write_text(report)
    (out / "benchmarks.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"wrote {out / 'benchmarks.md'} and {out / 'benchmarks.json'}")


if __name__ == "__main__":
    main()
