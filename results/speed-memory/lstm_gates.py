"""One matmul per gate in the paper's LSTM (`CoordinatewiseLSTM`): tried, not shipped.

    python results/speed-memory/lstm_gates.py [ROUNDS]

(output in lstm_gates.md). The shipped layer (`lstm.lstm_cell`: one [n, 4 units] product
through one sigmoid, tanh(z) = 2 sigmoid(2 z) - 1 for the candidate, split into gates)
against the tried one (`per_gate_layer` below: one product per gate, so each gate is its
own contiguous array and nothing is split), side by side in one process: the `mnist`
preset's update through `optimizer.apply` at 16,384 and 1,000,000 coordinates (graph
mode; the larger runs in chunks of 16,384), `model.fit` on the MNIST MLP 784-20-10
against Adam, and meta-training (`MetaTrainer`, MNIST MLP, horizon 100, unroll 20,
graph mode). The layer is read when a step is traced, so each optimizer or trainer
keeps the variant it was first called with.
"""

import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from common import data_dir  # noqa: E402
from fit import mnist_mlp  # noqa: E402
from keras_l2l import CoordinatewiseLSTM, LearnedOptimizer, MetaTrainer  # noqa: E402
from keras_l2l.problems import MLP  # noqa: E402
from keras_l2l.rules import backend_ops, lstm  # noqa: E402


def per_gate_layer(meta_params, state, new_state, name, x):
    """The tried layer: one product per gate, real tanh, no split."""
    inputs = ops.concatenate([x, state[f"{name}_h"]], axis=1)
    kernel, bias = meta_params[f"{name}_kernel"], meta_params[f"{name}_bias"]
    width = kernel.shape[1] // 4
    in_gate, forget_gate, candidate, out_gate = (
        backend_ops.bias_add(ops.matmul(inputs, kernel[:, j * width : (j + 1) * width]),
                             bias[j * width : (j + 1) * width])
        for j in range(4)
    )
    c = ops.sigmoid(forget_gate) * state[f"{name}_c"] + ops.sigmoid(in_gate) * ops.tanh(candidate)
    h = ops.sigmoid(out_gate) * ops.tanh(c)
    new_state[f"{name}_h"], new_state[f"{name}_c"] = h, c
    return h


LAYERS = {"one product + split (shipped)": lstm._lstm_layer, "one product per gate (tried)": per_gate_layer}


def with_layer(layer, fn):
    """Run `fn` (which traces) with `layer` as the LSTM layer."""
    current = lstm._lstm_layer
    lstm._lstm_layer = layer
    try:
        return fn()
    finally:
        lstm._lstm_layer = current


def update_steps(n):
    """`{variant: traced apply}` of the `mnist` preset on one variable of n coordinates."""
    steps = {}
    for label, layer in LAYERS.items():
        variable = keras.Variable(np.zeros([n], "float32"))
        optimizer = LearnedOptimizer.from_preset("mnist")
        optimizer.build([variable])
        grad = tf.random.stateless_normal([n], seed=[0, 1]) * 1e-3
        steps[label] = tf.function(_applier(optimizer, variable, grad))
        with_layer(layer, steps[label])
    return steps


def _applier(optimizer, variable, grad):
    return lambda: optimizer.apply([grad], [variable])


def fit_steps(x, y):
    """`{label: fit of one epoch}`: Adam and the `mnist` preset with each layer."""
    fits = {}
    for label, layer in [("Adam", None), *LAYERS.items()]:
        keras.utils.set_random_seed(0)
        model = mnist_mlp()
        optimizer = keras.optimizers.Adam() if layer is None else LearnedOptimizer.from_preset("mnist")
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        fit = lambda m=model: m.fit(x, y, batch_size=128, epochs=1, verbose=0)
        with_layer(layer or lstm._lstm_layer, fit)
        fits[label] = fit
    return fits


def meta_epochs():
    """`{variant: one meta-training epoch}` (100 optimizee steps, graph mode)."""
    problem = MLP("mnist", data_dir=data_dir())
    epochs = {}
    for label, layer in LAYERS.items():
        trainer = MetaTrainer(CoordinatewiseLSTM(), problem, horizon=100, unroll=20,
                              validation_every=0, jit_compile=False)
        epochs[label] = lambda t=trainer: t.train_epoch(1)
        with_layer(layer, epochs[label])
    return epochs


def interleaved(fns, rounds, repeats):
    """Median ms per call of each function, called `repeats` times per round in turn."""
    times = {label: [] for label in fns}
    for _ in range(rounds):
        for label, fn in fns.items():
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            times[label].append((time.perf_counter() - start) / repeats * 1e3)
    return {label: float(np.median(t)) for label, t in times.items()}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    print("| measurement | " + " | ".join(LAYERS) + " | tried / shipped |")
    print("|---|---|---|---|")
    for n, repeats in ((16_384, 20), (1_000_000, 1)):
        ms = interleaved(update_steps(n), rounds, repeats)
        shipped, tried = ms.values()
        print(f"| update, {n:,} coordinates, ms | {shipped:.2f} | {tried:.2f} | {tried / shipped:.3f} |")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20 * 128, 784)).astype("float32")
    y = rng.integers(0, 10, 20 * 128)
    ms = interleaved(fit_steps(x, y), rounds, 1)
    adam = ms.pop("Adam")
    shipped, tried = (t / adam for t in ms.values())
    print(f"| `fit` step on the MNIST MLP, / Adam's (medians of 20-step epochs) "
          f"| {shipped:.3f} | {tried:.3f} | {tried / shipped:.3f} |")
    shipped, tried = (100e3 / t for t in interleaved(meta_epochs(), rounds // 2, 1).values())
    print(f"| meta-training, optimizee steps/s | {shipped:.1f} | {tried:.1f} | {tried / shipped:.3f} |")


if __name__ == "__main__":
    main()
