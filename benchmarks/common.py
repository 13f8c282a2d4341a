"""Helpers shared by the benchmark modules: timing, Markdown tables, paths, logging.

Wall-clock times depend on the machine's load, so every figure that is compared
with something is timed with `interleaved` (A, B, A, B, ...) and reduced with
`median`: a loaded machine then slows both sides alike.
"""

import os
import sys
import time
from pathlib import Path

# Before TensorFlow's first import: entry points import this module first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent


def log(message):
    """Progress goes to stderr, so that stdout carries only the report (or a child's JSON)."""
    print(message, file=sys.stderr, flush=True)


def timed(fn):
    """Wall time of `fn()`, waiting for its result."""
    start = time.perf_counter()
    result = fn()
    if isinstance(result, tf.Tensor):
        result.numpy()
    return time.perf_counter() - start


def interleaved(fns, rounds):
    """`{name: [seconds per round]}` timing `fns` in turn, round after round."""
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(timed(fn))
    return times


def median(values):
    """A plain float (not a NumPy scalar), so the results serialize as JSON numbers."""
    return float(np.median(values))


def data_dir():
    """The real data, as the tests find it: `$KERAS_L2L_DATA_DIR`, else `../shared/data`."""
    env = os.environ.get("KERAS_L2L_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def table(headers, rows):
    """A Markdown table (also readable as plain text)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join(
        [line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells]
    )


def fmt(value, digits=3):
    """A table cell: significant digits for small floats, thousands separators otherwise."""
    if value is None:  # not measured by the run that wrote the results
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
