"""Where the paper LSTM's `fit` step goes beyond Adam's, on the MNIST MLP 784-20-10.

    python results/speed-memory/fit-attribution/attribution.py [ROUNDS] \\
        > results/speed-memory/fit-attribution/attribution.md

The same model (seeded weights, random data, batch 128) fits 20 steps per round with
Adam and with `LearnedOptimizer(preset=None)` (the paper's LSTM), as it is and with one
part of the optimizer switched off at a time: the update-size record behind
`UpdateMonitor` (`_record_size`), the `tf.cond` that skips non-finite steps, and the rule
itself (replaced by `updates = -grads`, every state entry still copied and written
back). Each part is patched before its model's first `fit`, which traces the step, so
each model keeps its variant. Interleaved rounds, medians (benchmarks/common.py).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from common import interleaved, median  # noqa: E402
from fit import mnist_mlp  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_l2l import LearnedOptimizer  # noqa: E402
from keras_l2l import optimizer as module  # noqa: E402

STEPS, BATCH = 20, 128


def plain_rule(self):
    """`-grads`, with every state entry copied, so the state writes stay."""
    def call(meta_params, grads, state):
        return -grads, {k: v * 1.0 if v.dtype.is_floating else v for k, v in state.items()}
    return call


PATCHES = {  # variant -> (object, attribute, replacement)
    "learned, no update-size record": (module.LearnedOptimizer, "_record_size",
                                       lambda self, updates, finite=None: None),
    "learned, no tf.cond": (module, "_tf_cond", lambda finite, update: update()),
    "learned, rule replaced by -grads": (module.LearnedOptimizer, "_rule_function", plain_rule),
}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 784)).astype("float32")
    y = rng.integers(0, 10, STEPS * BATCH)
    variants = ["Adam", "learned", *PATCHES]
    fits = {}
    for name in variants:
        saved = None
        if name in PATCHES:
            owner, attribute, replacement = PATCHES[name]
            saved = getattr(owner, attribute)
            setattr(owner, attribute, replacement)
        keras.utils.set_random_seed(0)
        model = mnist_mlp()
        optimizer = keras.optimizers.Adam() if name == "Adam" else LearnedOptimizer(preset=None)
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # traces this variant
        if saved is not None:
            setattr(owner, attribute, saved)
        fits[name] = lambda model=model: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    times = interleaved(fits, rounds)
    adam = median(times["Adam"])
    print(f"<!-- python results/speed-memory/fit-attribution/attribution.py {rounds} -->\n")
    print(f"MNIST MLP 784-20-10, batch {BATCH}, {rounds} interleaved rounds of {STEPS} steps\n")
    print("| optimizer | ms per step (median) | / Adam |")
    print("|---|---|---|")
    for name in variants:
        print(f"| {name} | {median(times[name]) / STEPS * 1e3:.2f} | "
              f"{median(times[name]) / adam:.2f} |")


if __name__ == "__main__":
    main()
