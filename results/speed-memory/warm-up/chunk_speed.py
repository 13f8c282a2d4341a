"""Seconds per update of the paper's LSTM and of HierarchicalLSTM for several `chunk_size`s.

Each size gets its own optimizer on the same Dense 1000 -> n/1001 model and gradients;
updates of the sizes alternate (medians), so the ratios hold on a loaded machine.

    python results/speed-memory/warm-up/chunk_speed.py > results/speed-memory/warm-up/chunk_speed.md
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

from common import interleaved, median  # noqa: E402  (first: sets TF_CPP_MIN_LOG_LEVEL)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_l2l import LearnedOptimizer  # noqa: E402

RUNS = (  # (rule, preset, parameters, rounds)
    ("paper LSTM", None, 100_000, 11),
    ("paper LSTM", None, 1_000_000, 7),
    ("paper LSTM", None, 10_000_000, 3),
    ("HierarchicalLSTM", "general", 1_000_000, 11),
)
CHUNK_SIZES = (4096, 8192, 16384)


def update_ms(preset, params, rounds):
    """`{chunk_size: median ms per update}`, the sizes' updates alternating."""
    model = keras.Sequential([keras.Input((1000,)), keras.layers.Dense(params // 1001)])
    variables = model.trainable_variables
    grads = [tf.random.normal(v.shape, seed=0) * 1e-3 for v in variables]
    steps = {}
    for size in CHUNK_SIZES:
        optimizer = LearnedOptimizer(preset=preset, chunk_size=size)
        optimizer.build(variables)
        steps[size] = tf.function(lambda g, o=optimizer: o.apply(g, variables))
        steps[size](grads)  # trace
    times = interleaved({size: lambda s=step: s(grads) for size, step in steps.items()}, rounds)
    return {size: 1000 * median(t) for size, t in times.items()}


def main():
    print("# Time per update by `chunk_size`\n")
    print("`python results/speed-memory/warm-up/chunk_speed.py`; medians over alternating "
          "rounds, one process.\n")
    print("| rule | parameters | " + " | ".join(f"{c} ms" for c in CHUNK_SIZES)
          + " | 4096 / 16384 |")
    print("|---|---|" + "---|" * (len(CHUNK_SIZES) + 1))
    for name, preset, params, rounds in RUNS:
        ms = update_ms(preset, params, rounds)
        cells = " | ".join(f"{ms[c]:.0f}" for c in CHUNK_SIZES)
        print(f"| {name} | {params:,} | {cells} | {ms[4096] / ms[16384]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
