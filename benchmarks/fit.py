"""2. Training-step overhead in `model.fit`: learned optimizer over Adam, per step.

Both optimizers fit the same model on the same random data in alternation, so
the ratio holds on a loaded machine where the absolute times do not.
"""

import keras
import numpy as np

from common import interleaved, log, median, timed
from keras_l2l import LearnedOptimizer
from keras_l2l.problems.conv import paper_convnet


def mnist_mlp():
    """The paper's MNIST MLP 784-20-10 (sigmoid): so small that the update dominates its step."""
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(20, activation="sigmoid"),
            keras.layers.Dense(10),
        ],
        name="mnist_mlp",
    )


# name -> (model builder, input shape); the memory section measures the same models.
FIT_MODELS = {
    "MNIST MLP 784-20-10": (mnist_mlp, (784,)),
    "paper conv net 32x32x3": (lambda: paper_convnet((32, 32, 3), 10), (32, 32, 3)),
}


FIT_OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(),
    "learned": lambda: LearnedOptimizer(preset=None),
    # The default (`general`): a HierarchicalLSTM with its shipped options (step
    # adaptation adds per-variable sums), as `LearnedOptimizer()` gives it to users.
    "hierarchical": lambda: LearnedOptimizer(),
}


def compiled_models(build, jit):
    """`{optimizer label: model}`, the same seeded weights for every optimizer."""
    models = {}
    for label, make_opt in FIT_OPTIMIZERS.items():
        keras.utils.set_random_seed(0)
        model = build()
        model.compile(
            optimizer=make_opt(),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit,
        )
        models[label] = model
    return models


def bench_fit(steps, rounds, batch_size=128):
    """Seconds per `model.fit` step, learned optimizer over Adam, interleaved."""
    rows = []
    rng = np.random.default_rng(0)
    for name, (build, input_shape) in FIT_MODELS.items():
        x = rng.random((steps * batch_size, *input_shape), dtype=np.float32)
        y = rng.integers(0, 10, steps * batch_size).astype(np.int32)
        for jit in (False, True):
            log(f"fit: {name}, jit_compile={jit}")
            models = compiled_models(build, jit)

            def fit(model):
                return lambda: model.fit(
                    x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0
                )

            warmup = {label: timed(fit(m)) for label, m in models.items()}
            times = interleaved({label: fit(m) for label, m in models.items()}, rounds)
            adam, learned = median(times["adam"]) / steps, median(times["learned"]) / steps
            hierarchical = median(times["hierarchical"]) / steps
            pair_ratios = [b / a for a, b in zip(times["adam"], times["learned"])]
            rows.append(
                {
                    "model": name,
                    "params": models["adam"].count_params(),
                    "jit_compile": jit,
                    "adam_ms": adam * 1e3,
                    "learned_ms": learned * 1e3,
                    "ratio": learned / adam,
                    "ratio_of_pairs": median(pair_ratios),
                    "hierarchical_ms": hierarchical * 1e3,
                    "hierarchical_ratio": hierarchical / adam,
                    "warmup_s": warmup,
                    "fit_s_per_round": times,
                }
            )
    return {"batch_size": batch_size, "steps_per_fit": steps, "rows": rows}
