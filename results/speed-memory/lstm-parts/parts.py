"""Where the paper LSTM's update time goes on the MNIST MLP, and what that allows.

Issue 12 asks for a `fit` step at most 1.5x Adam's on the MNIST MLP 784-20-10 for
the paper presets. This times, in one process and interleaved, Adam's `fit` step,
the learned optimizer's, the rule's call alone over the model's 15,910 coordinates,
and the parts of that call (its two LSTM matmuls, the gate nonlinearity, the
split and concat copies), against this CPU's large-matmul rate. The last lines
give the fit ratio the update would allow if it were nothing but its matmuls,
at their measured speed and at the large-matmul rate.

    python results/speed-memory/lstm-parts/parts.py > results/speed-memory/lstm-parts/parts.md
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common import interleaved, median, timed  # noqa: E402
from fit import compiled_models, mnist_mlp  # noqa: E402
from keras_l2l import TrainedRule  # noqa: E402

STEPS, BATCH, ROUNDS = 20, 128, 15


def median_ms(fn, rounds):
    """Median milliseconds of `fn()` over `rounds` calls, after one untimed call."""
    timed(fn)
    return 1000 * median(interleaved({"fn": fn}, rounds)["fn"])


def main():
    rng = np.random.default_rng(0)
    x = rng.random((STEPS * BATCH, 784), dtype=np.float32)
    y = rng.integers(0, 10, STEPS * BATCH).astype(np.int32)
    models = compiled_models(mnist_mlp, jit=False)
    fits = {
        label: lambda m=models[label]: m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False,
                                             verbose=0)
        for label in ("adam", "learned")
    }
    for fit in fits.values():  # build and trace
        fit()
    fit_s = interleaved(fits, ROUNDS)
    adam, learned = (1000 * median(fit_s[k]) / STEPS for k in ("adam", "learned"))

    n = models["learned"].count_params()
    trained = TrainedRule.from_preset("mnist")
    rule, meta = trained.rule, trained.meta_tensors()
    state = rule.init_state(n)
    grads = tf.random.normal([n]) * 1e-3
    call = tf.function(lambda g, s: rule(meta, g, s)[0])

    u = rule.units
    first, second = tf.random.normal([n, 2 + u]), tf.random.normal([n, 2 * u])
    kernel1, kernel2 = tf.random.normal([2 + u, 4 * u]), tf.random.normal([2 * u, 4 * u])
    gates, cells = tf.random.normal([n, 4 * u]), tf.random.normal([n, u])
    big = tf.random.normal([2048, 2048])
    parts = {
        "empty tf.function call": (tf.function(lambda a: a + 1.0), (tf.constant(1.0),)),
        f"matmul [n, {2 + u}] x [{2 + u}, {4 * u}]": (tf.function(tf.matmul), (first, kernel1)),
        f"matmul [n, {2 * u}] x [{2 * u}, {4 * u}]": (tf.function(tf.matmul), (second, kernel2)),
        f"sigmoid [n, {4 * u}]": (tf.function(tf.sigmoid), (gates,)),
        f"split [n, {4 * u}] into 4": (tf.function(lambda a: tf.split(a, 4, axis=1)[0]), (gates,)),
        f"concat [n, 2] and [n, {u}]": (tf.function(lambda a, b: tf.concat([a, b], 1)), (first[:, :2], cells)),
        f"c = f c + i g, elementwise [n, {u}]": (tf.function(lambda a, b, c: a * b + c * (2.0 * a - 1.0)), (cells, cells, cells)),
    }
    part_ms = {name: median_ms(lambda f=f, a=a: f(*a).numpy(), 100) for name, (f, a) in parts.items()}
    rule_ms = median_ms(lambda: call(grads, state).numpy(), 100)
    big_ms = median_ms(lambda: tf.matmul(big, big).numpy(), 10)
    overhead = part_ms.pop("empty tf.function call")
    rate = 2048**3 / (big_ms / 1000) / 1e9
    matmul_macs = n * ((2 + u) + 2 * u) * 4 * u
    matmul_ms = sum(v - overhead for k, v in part_ms.items() if k.startswith("matmul"))

    print(f"# The paper LSTM's update on the MNIST MLP ({n:,} coordinates)\n")
    print(f"`python {Path(__file__).relative_to(Path(__file__).resolve().parents[3])}`; "
          f"medians, fit steps of batch {BATCH} interleaved over {ROUNDS} rounds.\n")
    print("| measured | ms |\n|---|---|")
    print(f"| `fit` step, Adam | {adam:.2f} |")
    print(f"| `fit` step, LearnedOptimizer (paper LSTM) | {learned:.2f} (ratio {learned / adam:.2f}) |")
    print(f"| the rule's call alone, in a `tf.function` | {rule_ms - overhead:.2f} |")
    for name, ms in part_ms.items():
        print(f"| {name} | {ms - overhead:.2f} |")
    print(f"| (an empty `tf.function` call, subtracted above) | {overhead:.2f} |")
    at_peak = 1000 * matmul_macs / rate / 1e9
    print(f"\nLarge-matmul rate: {rate:.1f} GMAC/s. The two layers' matmuls "
          f"({matmul_macs / 1e6:.1f}M multiply-adds per update) take {matmul_ms:.2f} ms at "
          f"their measured speed, {at_peak:.2f} ms at the large-matmul rate.")
    print(f"\nIf the update were nothing but these matmuls, the fit ratio would be "
          f"{(adam + matmul_ms) / adam:.2f} at their measured speed and "
          f"{(adam + at_peak) / adam:.2f} at the large-matmul rate (target <= 1.5).")


if __name__ == "__main__":
    main()
