"""Meta-train a learned optimizer for the model you retrain every week.

    python examples/learn_for_your_model.py --epochs 200 --out my_preset

Wraps a Keras model in `KerasProblem`, meta-trains on it, exports the
resulting `TrainedRule` as a preset directory and reloads it with
`LearnedOptimizer.from_preset(directory)`.
"""

import argparse

import keras

import keras_l2l
from keras_l2l import presets
from keras_l2l.problems import KerasProblem


def build_model():
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(10),
        ]
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=200, help="meta-training runs")
    parser.add_argument("--out", default="my_preset")
    args = parser.parse_args()
    (x, y), test = keras_l2l.datasets.load_fashion_mnist()
    problem = KerasProblem(
        build_model(),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None),
        x.astype("float32") / 255.0,
        y,
        test_data=(test[0].astype("float32") / 255.0, test[1]),
    )
    trainer = keras_l2l.MetaTrainer(
        keras_l2l.CoordinatewiseLSTM(), problem, horizon=100, unroll=20, validation_every=20
    )
    trainer.fit(args.epochs)
    trained = trainer.trained_rule({"description": "example: Fashion-MNIST MLP with batch norm"})
    presets.save_preset(args.out, trained)
    reloaded = keras_l2l.LearnedOptimizer.from_preset(args.out)
    model = build_model()
    model.compile(optimizer=reloaded, loss=problem.loss_fn, metrics=["accuracy"])
    model.fit(x / 255.0, y, batch_size=128, epochs=1, steps_per_epoch=100)


if __name__ == "__main__":
    main()
