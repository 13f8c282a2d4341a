"""HierarchicalLSTM's chunk parts with and without XLA: peak memory and update time.

    python results/speed-memory/hierarchical_no_xla.py

Each figure in a fresh process (peak RSS never goes down): the peak above the state
of one update, as `benchmarks/memory.py` measures it, and the median of 10 compiled
updates after 2 warm-ups, at 1M and 10M parameters. "without XLA" sets
`compile_with_xla = False` on the optimizer's rule, so the chunk loop runs as a plain graph.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


def optimizer(xla):
    from keras_l2l import LearnedOptimizer

    opt = LearnedOptimizer(preset="general")
    opt.rule.compile_with_xla = xla
    return opt


def measure(xla, params, what):
    """In this process: one measurement, as a dict."""
    import keras
    import tensorflow as tf

    import memory

    if what == "memory":
        memory.MEMORY_OPTIMIZERS["under test"] = lambda: optimizer(xla)
        result = memory.peak_memory_child("under test", False, params)
        return {"peak_over_state_bytes_per_param":
                (result["peak_mb"] - result["variables_mb"]) * 2**20 / result["params"]}
    model = keras.Sequential([keras.Input((1000,)), keras.layers.Dense(params // 1001)])
    variables = model.trainable_variables
    grads = [tf.random.normal(v.shape, stddev=1e-3) for v in variables]
    opt = optimizer(xla)
    step = tf.function(lambda g: opt.apply(g, variables))
    step(grads)
    step(grads)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        step(grads)
        times.append(time.perf_counter() - start)
    return {"ms_per_update": 1000 * sorted(times)[len(times) // 2]}


def main():
    if len(sys.argv) == 4:  # a child: xla params what
        print(json.dumps(measure(sys.argv[1] == "xla", int(sys.argv[2]), sys.argv[3])))
        return
    for params in (1_000_000, 10_000_000):
        for xla in ("xla", "no-xla"):
            row = {"params": params, "chunk parts": xla}
            for what in ("memory", "time"):
                out = subprocess.run([sys.executable, __file__, xla, str(params), what],
                                     capture_output=True, text=True, check=True)
                row.update(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
