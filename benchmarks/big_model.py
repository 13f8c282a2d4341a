"""A 25M-parameter ResNet-style conv net trains a few steps with a paper preset.

    python benchmarks/big_model.py [--state-dtype float32|bfloat16|float16] [--steps 3] [--jit]
                                   [--build-first]

Issue 12 asks that a model of this size train on a 24 GB machine with the paper's
coordinatewise LSTM (320 bytes of state per parameter in float32). Prints one JSON
line: parameters, state bytes, peak RSS of the process, seconds per step and the
losses (random CIFAR-shaped data: this checks memory and finiteness, not learning).
"""

import argparse
import json
import time

from common import log  # first: sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_l2l import LearnedOptimizer  # noqa: E402
from memory import proc_status_mib, variable_bytes  # noqa: E402

layers = keras.layers


def resnet(blocks=11, width=512):
    """Stem down to 4x4 at `width` channels, then `blocks` residual 3x3 convolutions."""
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for filters in (64, 128, width):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    for _ in range(blocks):
        y = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        x = layers.LayerNormalization()(layers.Add()([x, y]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(10)(x))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dtype", default="float32")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--jit", action="store_true",
                        help="compile the step with XLA (then the rule runs unchunked)")
    parser.add_argument("--build-first", action="store_true",
                        help="build the optimizer before training, not in the first step")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    model = resnet()
    optimizer = LearnedOptimizer.from_preset("mnist", state_dtype=args.state_dtype)
    if args.build_first:
        optimizer.build(model.trainable_variables)
    model.compile(optimizer=optimizer, jit_compile=args.jit,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, args.batch_size)
    log(f"big model: {model.count_params():,} parameters, state {args.state_dtype}")
    losses, times = [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        losses.append(float(model.train_on_batch(x, y)))
        times.append(time.perf_counter() - start)
    state = [v for v in optimizer.variables if v.name.startswith("state_")]
    print(json.dumps({
        "params": model.count_params(),
        "state_dtype": args.state_dtype,
        "jit_compile": args.jit,
        "build_first": args.build_first,
        "state_mb": variable_bytes(state) / 2**20,
        "peak_rss_mb": proc_status_mib("VmHWM"),
        "seconds_per_step_after_first": float(np.median(times[1:])) if len(times) > 1 else None,
        "losses": losses,
        "skipped_steps": int(optimizer.skipped_steps.numpy()),
    }))


if __name__ == "__main__":
    main()
