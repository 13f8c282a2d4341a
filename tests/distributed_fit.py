"""`model.fit` of a small MLP, alone or under a tf.distribute strategy, for test_distribute.py.

    python tests/distributed_fit.py OUT.npz --optimizer adam|general|mnist
        [--strategy none|mirrored|multi-worker] [--devices N] [--loop fit|custom]

`--devices N` splits the CPU into N logical devices (it must happen before
TensorFlow starts). `mirrored` uses `MirroredStrategy` over them;
`multi-worker` uses `MultiWorkerMirroredStrategy` with the cluster in
`TF_CONFIG` (one process per worker). Every run sees the same data in the
same order with the same global batch, so all of them must end with the same
weights; each writes its final weights and optimizer variables to OUT.npz.

`--loop custom` trains with `strategy.run` and `optimizer.apply` instead of
`fit`: Keras 3.15's `fit` under `MultiWorkerMirroredStrategy` fails before
the first step whatever the optimizer (`strategy.reduce` of an `(x, y)`
tuple in `_maybe_symbolic_build`), so multi-worker runs use this loop.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

GLOBAL_BATCH, EPOCHS = 16, 3


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4 * GLOBAL_BATCH, 5)).astype(np.float32)
    y = np.tanh(x @ rng.normal(size=(5, 1))).astype(np.float32)
    return x, y


def make_optimizer(name):
    import keras

    from keras_l2l import LearnedOptimizer

    if name == "adam":
        return keras.optimizers.Adam(0.01)
    return LearnedOptimizer.from_preset(name)


def custom_loop(model, strategy, x, y):
    """`EPOCHS` passes in order, global batch split evenly over the replicas."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = strategy.experimental_distribute_dataset(dataset.with_options(options))

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(xb) - yb)) / GLOBAL_BATCH
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(grads, model.trainable_variables)

    for _ in range(EPOCHS):
        for xb, yb in batches:
            strategy.run(step, args=(xb, yb))


def train(optimizer_name, strategy, loop):
    import keras

    keras.utils.set_random_seed(1)
    with strategy.scope():
        model = keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(8, activation="tanh"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=make_optimizer(optimizer_name), loss="mse")
        model.optimizer.build(model.trainable_variables)
    x, y = data()
    if loop == "fit":
        model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    else:
        custom_loop(model, strategy, x, y)
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update(
        {f"optimizer_{i}": np.asarray(v.numpy()) for i, v in enumerate(model.optimizer.variables)}
    )
    return arrays


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--optimizer", default="general")
    parser.add_argument("--strategy", default="none", choices=("none", "mirrored", "multi-worker"))
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--loop", default="fit", choices=("fit", "custom"))
    args = parser.parse_args()

    import tensorflow as tf

    if args.devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.devices
        )
    if args.strategy == "mirrored":
        strategy = tf.distribute.MirroredStrategy(
            [f"/cpu:{i}" for i in range(args.devices)]
        )
    elif args.strategy == "multi-worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    np.savez(args.out, **train(args.optimizer, strategy, args.loop))


if __name__ == "__main__":
    main()
