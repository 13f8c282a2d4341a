"""The paper's CIFAR-10 conv net, on CIFAR-10 or MNIST, with label subsets."""

import keras
import tensorflow as tf

from keras_l2l.problems.keras_problem import KerasProblem
from keras_l2l.problems.mlp import load_split


def paper_convnet(input_shape, num_classes):
    """3 x (conv 5x5, 16 ch, ReLU, 2x2 max-pool, batch norm), dense 32 + ReLU + BN, logits."""
    layers = [keras.Input(input_shape)]
    for _ in range(3):
        layers += [
            keras.layers.Conv2D(16, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.BatchNormalization(),
        ]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(num_classes),
    ]
    return keras.Sequential(layers, name="paper_convnet")


class ConvNet(KerasProblem):
    """The paper's conv net; `classes` keeps a label subset (e.g. CIFAR-5: range(5))."""

    def __init__(self, dataset="cifar10", classes=None, batch_size=128, data_dir=None):
        (x_train, y_train), (x_test, y_test) = load_split(dataset, data_dir, classes)
        if len(x_train.shape) == 3:  # MNIST: add the channel axis
            x_train, x_test = x_train[..., None], x_test[..., None]
        num_classes = len(classes) if classes is not None else 10
        super().__init__(
            paper_convnet(tuple(x_train.shape[1:]), num_classes),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None),
            x_train.numpy(),
            y_train.numpy(),
            batch_size=batch_size,
            test_data=(x_test.numpy(), y_test.numpy()),
        )
        subset = "" if classes is None else "_" + "".join(str(c) for c in classes)
        self.name = f"{dataset}_conv{subset}"
        self.loss_label = "cross-entropy (nats)"
