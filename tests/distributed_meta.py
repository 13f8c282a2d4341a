"""A short `MetaTrainer` run, alone or under `MirroredStrategy`, for test_distribute.py.

    python tests/distributed_meta.py OUT.npz [--devices N]

With `--devices N > 1` the CPU is split into N logical devices and the
trainer is built inside a `MirroredStrategy` scope, so each meta-step's group
of problems is spread over the replicas. Either way it meta-trains the same
rule on the same problems and seeds and writes the final meta-weights.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--devices", type=int, default=1)
    args = parser.parse_args()

    import tensorflow as tf

    if args.devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.devices
        )
        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(args.devices)])
    else:
        strategy = tf.distribute.get_strategy()

    import keras

    from keras_l2l import CoordinatewiseLSTM, MetaTrainer
    from keras_l2l.problems import Quadratic

    problems = [Quadratic(dim=3 + i, num_problems=4) for i in range(4)]
    with strategy.scope():
        trainer = MetaTrainer(
            CoordinatewiseLSTM(units=4, num_layers=2), problems, tasks_per_step=4,
            horizon=8, unroll=4, meta_optimizer=keras.optimizers.Adam(1e-2),
            clip_norm=1.0, validation_every=0, seed=2,
        )
    history = trainer.fit(3, verbose=0)
    meta = trainer.trained_rule().meta_params
    np.savez(args.out, meta_loss=np.array(history["meta_loss"]), **meta)


if __name__ == "__main__":
    main()
