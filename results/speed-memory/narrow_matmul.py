"""What `backend_ops.narrow_matmul` saves in a `model.fit` step with the default preset.

    python results/speed-memory/narrow_matmul.py [ROUNDS]

(output in narrow_matmul.md). Three copies of the MNIST MLP 784-20-10 (the one in
benchmarks/fit.py, same weights, random data, batch 128) fit 20 steps per round in
alternation: with Adam, with `LearnedOptimizer()` as it is, and with
`LearnedOptimizer()` whose per-parameter MLP uses plain matmuls inside its XLA call
(as before `narrow_matmul`). The helper is read when a step is traced, so each
model keeps the variant it was first fitted with. Reported: the medians of ms per
step and their ratios, side by side in one process.
"""

import sys
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from fit import mnist_mlp  # noqa: E402
from keras_l2l import LearnedOptimizer  # noqa: E402
from keras_l2l.rules import backend_ops  # noqa: E402

STEPS, BATCH = 20, 128


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 784)).astype("float32")
    y = rng.integers(0, 10, STEPS * BATCH)
    narrow = backend_ops.narrow_matmul
    variants = {
        "Adam": (keras.optimizers.Adam, narrow),
        "general, narrow_matmul": (LearnedOptimizer, narrow),
        "general, plain matmul": (LearnedOptimizer, lambda a, kernel: ops.matmul(a, kernel)),
    }
    models, times = {}, {}
    for name, (make_optimizer, product) in variants.items():
        keras.utils.set_random_seed(0)
        model = mnist_mlp()
        model.compile(optimizer=make_optimizer(),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        backend_ops.narrow_matmul = product
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # traces with this variant
        models[name], times[name] = model, []
    backend_ops.narrow_matmul = narrow
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
            times[name].append((time.perf_counter() - start) / STEPS * 1e3)
    median = {name: float(np.median(t)) for name, t in times.items()}
    adam = np.array(times["Adam"])
    print(f"MNIST MLP 784-20-10, batch {BATCH}, {rounds} rounds of {STEPS} steps per model\n")
    print("| optimizer | ms/step (median) | / Adam (medians) | / Adam (median of rounds) |")
    print("|---|---|---|---|")
    for name, t in times.items():
        pairs = float(np.median(np.array(t) / adam))
        print(f"| {name} | {median[name]:.2f} | {median[name] / median['Adam']:.3f} | {pairs:.3f} |")


if __name__ == "__main__":
    main()
