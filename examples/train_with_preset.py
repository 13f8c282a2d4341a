"""Train a Keras model with a pretrained learned optimizer, next to Adam.

    python examples/train_with_preset.py [--preset mnist] [--steps 200]

Data: MNIST from KERAS_L2L_DATA_DIR if set, else downloaded by Keras.
"""

import argparse

import keras

import keras_l2l


def mlp():
    keras.utils.set_random_seed(0)  # both optimizers start from the same weights
    return keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(20, activation="sigmoid"), keras.layers.Dense(10)]
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="mnist")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--adam-lr", type=float, default=0.03)
    args = parser.parse_args()
    (x, y), _ = keras_l2l.datasets.load_mnist()
    x = x.reshape(-1, 784).astype("float32") / 255.0
    x, y = x[: args.steps * 128], y[: args.steps * 128]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for name, optimizer in [
        ("learned", keras_l2l.LearnedOptimizer.from_preset(args.preset)),
        ("adam", keras.optimizers.Adam(args.adam_lr)),
    ]:
        model = mlp()
        model.compile(optimizer=optimizer, loss=loss)
        model.fit(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0)
        final = model.evaluate(x, y, batch_size=1024, verbose=0)
        print(f"{name:8s} training-set loss after {args.steps} steps: {final:.4f}")


if __name__ == "__main__":
    main()
