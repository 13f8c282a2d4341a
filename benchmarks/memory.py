"""3. Memory: optimizer state per parameter, and the peak memory of one update.

The peak is measured in a fresh subprocess per optimizer (this file run as a
script), because a process's peak RSS never goes down: measured in the runner,
each figure would carry everything that ran before it.

    python benchmarks/memory.py "learned float32" [--params 10000000] [--jit]
        [--warm-up] [--chunk-size 4096]

(`--jit` compiles the whole step with XLA, which cannot run the rule in chunks:
its temporaries grow with the model, ~1.3 kB per parameter, so it is not among
the runs of `bench_memory`.)

A fresh process also pays, once, for what TensorFlow loads on first use: the
kernels' code and buffers and, for a rule compiled with XLA (`HierarchicalLSTM`),
XLA's compiler: at 1M parameters, 36 and 146 MB (results/speed-memory/warm-up).
`--warm-up` first runs another optimizer of the same kind on a small model in
the same process, so the figure is what one more optimizer's update costs:
its own graphs, compilation and temporaries, without the one-time part.

prints one JSON object (the child's measurement) on stdout.
"""

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

from common import log  # first: sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from fit import FIT_MODELS  # noqa: E402
from keras_l2l import LearnedOptimizer  # noqa: E402

MEMORY_OPTIMIZERS = {
    "Adam": lambda: keras.optimizers.Adam(),
    "learned float32": lambda **kw: LearnedOptimizer(preset=None, state_dtype="float32", **kw),
    "learned bfloat16": lambda **kw: LearnedOptimizer(preset=None, state_dtype="bfloat16", **kw),
    "learned float16": lambda **kw: LearnedOptimizer(preset=None, state_dtype="float16", **kw),
    "hierarchical (general)": lambda **kw: LearnedOptimizer(preset="general", **kw),
}
# (optimizer, jit_compile, warm_up) for the peak-memory subprocesses (--quick: the first
# six), each at every size of PEAK_SIZES (--quick: the first two).
PEAK_RUNS = (
    ("Adam", False, False),
    ("learned float32", False, False),
    ("hierarchical (general)", False, False),
    ("Adam", False, True),
    ("learned float32", False, True),
    ("hierarchical (general)", False, True),
    ("learned bfloat16", False, False),
)
PEAK_SIZES = (1_000_000, 10_000_000, 30_000_000)
# The warm-up model, Dense 1000 -> 22 (22,022 parameters): more coordinates than the
# default `chunk_size`, so that the warm-up runs the same chunked code as the measurement.
WARM_UP_UNITS = 22


def variable_bytes(variables):
    """Exact bytes of `variables` (size x dtype size), whatever their dtype."""
    return sum(math.prod(v.shape) * tf.as_dtype(v.dtype).size for v in variables)


def optimizer_memory(model, optimizer):
    """Bytes of the optimizer's variables after build, per trainable parameter.

    The per-coordinate part is Adam's two moments or the learned optimizer's
    LSTM state (h, c of every layer); the fixed part is everything else
    (learned: meta-parameters and counters; Adam: counters).
    """
    params = sum(math.prod(v.shape) for v in model.trainable_variables)
    optimizer.build(model.trainable_variables)
    total = variable_bytes(optimizer.variables)
    if isinstance(optimizer, LearnedOptimizer):
        per_coordinate = variable_bytes(
            [v for v in optimizer.variables if v.name.startswith("state_")]
        )
        meta = variable_bytes(optimizer.meta_variables)
    else:
        per_coordinate = variable_bytes(
            [v for v in optimizer.variables if math.prod(v.shape) > 1]
        )
        meta = 0
    return {
        "params": params,
        "per_coordinate_bytes_per_param": per_coordinate / params,
        "fixed_bytes": total - per_coordinate,
        "meta_param_bytes": meta,
        "total_bytes_per_param": total / params,
    }


def proc_status_mib(field):
    """`VmRSS` (current) or `VmHWM` (peak) resident set size in MiB, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak_rss():
    """Reset this process's peak RSS (VmHWM) to its current RSS; False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_memory_child(label, jit, num_params, warm_up=False, chunk_size=None):
    """Run in a subprocess: growth of peak RSS from building `label` and one compiled update.

    The peak is the kernel's high-water mark of this process's RSS (VmHWM, what
    `ru_maxrss` reports, but per address space: `ru_maxrss` of a child also
    carries the parent's peak across fork/exec). It is reset to the current RSS
    right before `build`; where that is not allowed, the model (Dense 1000 ->
    num_params/1001, zero-initialized) and constant gradients are made with no
    large temporaries, so the peak before `build` is close to the current RSS.
    With `warm_up`, an optimizer of the same kind first takes two updates of a
    `WARM_UP_UNITS` model in this process (see the module's docstring).
    """
    if warm_up:
        _, variables, grads, optimizer, step = _update_setup(label, jit, WARM_UP_UNITS, chunk_size)
        optimizer.build(variables)
        step(grads)
        step(grads)
        del variables, grads, optimizer, step
    model, variables, grads, optimizer, step = _update_setup(
        label, jit, num_params // 1001, chunk_size
    )
    reset = reset_peak_rss()
    before, peak_before = proc_status_mib("VmRSS"), proc_status_mib("VmHWM")
    optimizer.build(variables)
    step(grads)
    step(grads)
    return {
        "params": model.count_params(),
        "rss_before_mb": before,
        "peak_before_mb": peak_before,
        "peak_reset": reset,
        "warm_up": warm_up,
        "variables_mb": variable_bytes(optimizer.variables) / 2**20,
        "peak_mb": proc_status_mib("VmHWM") - before,
    }


def _update_setup(label, jit, units, chunk_size):
    """`(model, variables, gradients, optimizer, step)`: a zero-initialized Dense 1000 ->
    `units`, constant gradients, an unbuilt `label` optimizer and its compiled update."""
    model = keras.Sequential(
        [keras.Input((1000,)), keras.layers.Dense(units, kernel_initializer="zeros")]
    )
    variables = model.trainable_variables
    grads = [tf.fill(v.shape, 1e-3) for v in variables]
    optimizer = MEMORY_OPTIMIZERS[label](**({} if chunk_size is None else {"chunk_size": chunk_size}))
    step = tf.function(lambda grads: optimizer.apply(grads, variables), jit_compile=jit)
    return model, variables, grads, optimizer, step


def peak_memory(label, jit, num_params, warm_up=False):
    """`peak_memory_child`'s result from a fresh Python process running this file.

    Adds the state (the optimizer's variables) and the peak above it, per parameter:
    issue 12's bound is state + 64 B/param.
    """
    name = label + (" (XLA)" if jit else "") + (", after a warm-up" if warm_up else "")
    log(f"memory: peak of one update, {name}, {num_params:,} parameters (subprocess)")
    command = [sys.executable, str(Path(__file__).resolve()), label]
    command += ["--params", str(num_params)]
    command += (["--jit"] if jit else []) + (["--warm-up"] if warm_up else [])
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"optimizer": name, "error": out.stderr.strip().splitlines()[-1:]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    per_param = 2**20 / result["params"]
    result["peak_bytes_per_param"] = result["peak_mb"] * per_param
    result["state_bytes_per_param"] = result["variables_mb"] * per_param
    result["peak_over_state_bytes_per_param"] = (
        result["peak_mb"] - result["variables_mb"]
    ) * per_param
    return {"optimizer": name, **result}


def bench_memory(peak_sizes=PEAK_SIZES, peak_runs=PEAK_RUNS):
    """State bytes per parameter of every optimizer and model, then the subprocess peaks."""
    rows = []
    for model_name, (build, _) in FIT_MODELS.items():
        for label, make in MEMORY_OPTIMIZERS.items():
            keras.utils.set_random_seed(0)
            usage = optimizer_memory(build(), make())
            rows.append({"model": model_name, "optimizer": label, **usage})
    peaks = [
        peak_memory(label, jit, size, warm_up)
        for size in peak_sizes
        for label, jit, warm_up in peak_runs
    ]
    for p in peaks:
        adam = next(
            (a for a in peaks if a["optimizer"].startswith("Adam")
             and (a.get("params"), a.get("warm_up")) == (p.get("params"), p.get("warm_up"))),
            None,
        )
        if adam and "peak_mb" in p:
            p["peak_over_adam"] = p["peak_mb"] / adam["peak_mb"]
    return {"state": rows, "peak": peaks}


def main(argv=None):
    """The subprocess's entry point: one measurement, printed as JSON on the last line."""
    parser = argparse.ArgumentParser(description="Peak memory of one update (a child of run.py).")
    parser.add_argument("optimizer", choices=sorted(MEMORY_OPTIMIZERS))
    parser.add_argument("--params", type=int, default=10_000_000)
    parser.add_argument("--jit", action="store_true")
    parser.add_argument("--warm-up", action="store_true",
                        help="first run the same kind of optimizer on a small model")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="LearnedOptimizer's chunk_size (default: its own default)")
    args = parser.parse_args(argv)
    if args.chunk_size is not None and args.optimizer == "Adam":
        parser.error("--chunk-size is a LearnedOptimizer argument; Adam has none.")
    print(json.dumps(peak_memory_child(
        args.optimizer, args.jit, args.params, args.warm_up, args.chunk_size
    )))


if __name__ == "__main__":
    main()
