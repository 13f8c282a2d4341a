"""How fast does the paper LSTM's step run on TensorFlow's CPU kernels, in either layout?

    python results/speed-memory/layout/layout.py [ROUNDS] > results/speed-memory/layout/layout.md

Issue 12 asks for an update at >= 0.3 of this CPU's large-matmul rate. This measures,
at chunk-like sizes (16,384 and 65,536 coordinates, which stay in cache) and at 1M
(which does not):

- the work itself, timed apart: the two layers' matmuls, `[n, 22] x [22, 80]` and
  `[n, 40] x [40, 80]`, plus their activations (a sigmoid over `[n, 80]` and a tanh over
  `[n, 20]` per layer);
- the two-layer LSTM step (`keras_l2l.rules.lstm.lstm_cell`, without preprocessing or state
  reads and writes) as the rule lays out its state, `[n, units]`, and the same step laid
  out feature-major, `[units, n]` (state and gates as rows: the split into gates and the
  concatenation of [x, h] become contiguous blocks), in graph mode and under XLA.

Every figure is timed interleaved with its counterparts in one process (benchmarks/common.py),
best of ROUNDS (default 5), and reported as GMAC/s (the step's 4,980 multiply-adds per
coordinate over the time) and as a fraction of the large-matmul rate (a 2048 x 2048
product) measured in the same run.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from common import fmt, interleaved, table  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_l2l.rules.lstm import lstm_cell  # noqa: E402

UNITS, FEATURES = 20, 2
SIZES = (16_384, 65_536, 1_048_576)
MACS = (FEATURES + UNITS) * 4 * UNITS + 2 * UNITS * 4 * UNITS + UNITS  # per coordinate


def feature_major_cell(inputs, kernel_t, bias, c):
    """`lstm_cell` with inputs, state and gates as rows: `inputs` [in, n], `kernel_t` [4u, in]."""
    units = kernel_t.shape[0] // 4
    scale = tf.constant([1.0] * (2 * units) + [2.0] * units + [1.0] * units)[:, None]
    gates = tf.sigmoid(tf.matmul(kernel_t * scale, inputs) + bias[:, None] * scale)
    in_gate, forget_gate, candidate, out_gate = tf.split(gates, 4, axis=0)
    c = forget_gate * c + in_gate * (2.0 * candidate - 1.0)
    return out_gate * tf.tanh(c), c


def steps(kernels, bias, out_kernel, xla):
    """The two-layer step in both layouts, compiled; each returns the update."""
    k0, k1 = kernels
    k0t, k1t, out_t = tf.transpose(k0), tf.transpose(k1), tf.transpose(out_kernel)

    @tf.function(jit_compile=xla)
    def row_major(x, h0, c0, h1, c1):
        a, _ = lstm_cell(tf.concat([x, h0], 1), k0, bias, c0)
        b, _ = lstm_cell(tf.concat([a, h1], 1), k1, bias, c1)
        return tf.matmul(b, out_kernel)[:, 0]

    @tf.function(jit_compile=xla)
    def feature_major(x, h0, c0, h1, c1):
        a, _ = feature_major_cell(tf.concat([x, h0], 0), k0t, bias, c0)
        b, _ = feature_major_cell(tf.concat([a, h1], 0), k1t, bias, c1)
        return tf.matmul(out_t, b)[0]

    return row_major, feature_major


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rng = np.random.default_rng(0)
    normal = lambda *shape: tf.constant(rng.normal(size=shape).astype("float32") * 0.3)  # noqa: E731
    kernels = (normal(FEATURES + UNITS, 4 * UNITS), normal(2 * UNITS, 4 * UNITS))
    bias, out_kernel = normal(4 * UNITS), normal(UNITS, 1)
    big = normal(2048, 2048)
    matmul = {xla: tf.function(tf.matmul, jit_compile=xla) for xla in (False, True)}
    large = {xla: min(interleaved({"m": lambda: matmul[xla](big, big)}, rounds)["m"])
             for xla in (False, True)}
    large_rate = {xla: 2048**3 / t / 1e9 for xla, t in large.items()}
    rows, checks = [], []
    for n in SIZES:
        x, states = normal(n, FEATURES), [normal(n, UNITS) for _ in range(4)]
        x_t, states_t = tf.transpose(x), [tf.transpose(s) for s in states]
        layer0, layer1 = normal(n, FEATURES + UNITS), normal(n, 2 * UNITS)
        gates, cells = normal(n, 4 * UNITS), normal(n, UNITS)
        for xla in (False, True):
            row_major, feature_major = steps(kernels, bias, out_kernel, xla)
            activations = tf.function(lambda g, c: (tf.sigmoid(g), tf.tanh(c)), jit_compile=xla)
            checks.append(float(tf.reduce_max(tf.abs(row_major(x, *states)
                                                     - feature_major(x_t, *states_t)))))
            times = interleaved({
                "matmuls": lambda: (matmul[xla](layer0, kernels[0]),
                                    matmul[xla](layer1, kernels[1]))[1],
                "activations": lambda: (activations(gates, cells),
                                        activations(gates, cells))[1][1],
                "row": lambda: row_major(x, *states),
                "feature": lambda: feature_major(x_t, *states_t),
            }, rounds)
            best = {k: min(t) for k, t in times.items()}
            best["ceiling"] = best.pop("matmuls") + best.pop("activations")
            rate = {k: MACS * n / t / 1e9 for k, t in best.items()}
            fraction = lambda k: rate[k] / large_rate[xla]  # noqa: E731
            rows.append([f"{n:,}", "XLA" if xla else "graph",
                         f"{fmt(rate['ceiling'])} ({fraction('ceiling'):.2f})",
                         f"{fmt(rate['row'])} ({fraction('row'):.2f})",
                         f"{fmt(rate['feature'])} ({fraction('feature'):.2f})",
                         f"{rate['feature'] / rate['row']:.2f}"])
    print(f"<!-- python results/speed-memory/layout/layout.py {rounds} -->\n")
    print("# The paper LSTM's step on TensorFlow's CPU kernels: its rate, in either layout\n")
    print(f"Large-matmul rate (2048 x 2048, best of {rounds}): "
          f"{large_rate[False]:.1f} GMAC/s graph, {large_rate[True]:.1f} XLA. "
          f"{MACS:,} multiply-adds per coordinate. GMAC/s at the best of {rounds} rounds, "
          "(fraction of the large-matmul rate).\n")
    print(table(["coordinates", "mode", "matmuls + activations, timed apart",
                 "LSTM step, [n, units]", "LSTM step, [units, n]",
                 "feature-major / row-major speed"], rows))
    print(f"\nThe two layouts' updates agree to {max(checks):.1e} (max abs difference).")


if __name__ == "__main__":
    main()
