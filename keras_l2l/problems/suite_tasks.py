"""The held-out evaluation suite: Keras models the meta-training never sees.

Meta-training uses plain MLPs and logistic regression on MNIST, Fashion-MNIST
and the CIFAR subset (and perhaps the paper's conv net, autoencoders and small
recurrent models on MNIST). These tasks differ in architecture (batch norm with
dropout, LSTM, embedding + GRU, attention, two inputs, separable convolutions,
residual blocks with layer norm), loss (regression, reconstruction), data
(synthetic token sequences) or batch size. Training sets are fixed subsamples
of a few thousand examples, so `eval_loss` (over all of them) stays cheap.
`get_problem("suite/<name>")` builds one; `SUITE` lists them in order.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from keras_l2l import datasets
from keras_l2l.problems.keras_problem import KerasProblem

layers = keras.layers
_SUBSAMPLE_SEED = 0  # the fixed permutation every subsample is taken from


@dataclass(frozen=True)
class SuiteTask:
    """A named task: `build(data_dir)` returns its `KerasProblem`."""

    name: str
    build: Callable
    description: str


@functools.lru_cache(maxsize=None)
def _raw(dataset, data_dir):
    """uint8 arrays of a dataset, read once per process (tasks share them)."""
    return datasets.load(dataset, data_dir)


def _images(dataset, data_dir, train, test=1000):
    """`(x, y), (x_test, y_test)`: fixed subsamples, images float32 in [0, 1], labels int32."""
    (x, y), (x_test, y_test) = _raw(dataset, None if data_dir is None else str(data_dir))
    pick = np.random.default_rng(_SUBSAMPLE_SEED).permutation(len(x))[:train]
    pick_test = np.random.default_rng(_SUBSAMPLE_SEED).permutation(len(x_test))[:test]

    def prepare(images, labels, index):
        return images[index].astype(np.float32) / 255.0, labels[index].astype(np.int32)

    return prepare(x, y, pick), prepare(x_test, y_test, pick_test)


def _classifier(model, data, batch_size, inputs=None):
    """A `KerasProblem` with softmax cross-entropy on logits and test accuracy."""
    (x, y), test = data
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    problem = KerasProblem(model, loss, x, y, batch_size=batch_size, test_data=test,
                           inputs=inputs)
    problem.loss_label = "cross-entropy (nats)"
    return problem


def _sequential(input_shape, *stack):
    return keras.Sequential([keras.Input(input_shape), *stack])


# -- tasks ----------------------------------------------------------------------


def _conv_bn(filters):
    """A strided 3x3 convolution (halves the resolution), batch norm, ReLU."""
    return [layers.Conv2D(filters, 3, strides=2, padding="same"),
            layers.BatchNormalization(), layers.ReLU()]


def mnist_conv_bn_dropout(data_dir):
    model = _sequential(
        (28, 28, 1), *_conv_bn(8), *_conv_bn(16),
        layers.Dropout(0.25), layers.Flatten(), layers.Dense(10),
    )
    return _classifier(model, _with_channel(_images("mnist", data_dir, 2048)), 64)


def cifar_conv_bn_dropout(data_dir):
    model = _sequential(
        (32, 32, 3), *_conv_bn(8), *_conv_bn(16), layers.Dropout(0.2), *_conv_bn(32),
        layers.GlobalAveragePooling2D(), layers.Dropout(0.2), layers.Dense(10),
    )
    return _classifier(model, _images("cifar10", data_dir, 2048), 64)


def fashion_rows_lstm(data_dir):
    model = _sequential((28, 28), layers.LSTM(32), layers.Dense(10))
    return _classifier(model, _images("fashion_mnist", data_dir, 2048), 32)


def tokens_embedding_gru(data_dir):
    model = _sequential(
        (TOKEN_LENGTH,), layers.Embedding(TOKEN_VOCAB, 16), layers.GRU(32),
        layers.Dense(TOKEN_VOCAB),
    )
    return _classifier(model, (token_sequences(4096, 0), token_sequences(1000, 1)), 64)


def mnist_patch_transformer(data_dir):
    inputs = keras.Input((16, 49 + 16))
    x = layers.Dense(32)(inputs)
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=16)(x, x)
    x = layers.LayerNormalization()(x + attended)
    hidden = layers.Dense(32)(layers.Dense(64, activation="gelu")(x))
    x = layers.LayerNormalization()(x + hidden)
    outputs = layers.Dense(10)(layers.GlobalAveragePooling1D()(x))
    (x_train, y), (x_test, y_test) = _images("mnist", data_dir, 2048)
    data = (patches(x_train), y), (patches(x_test), y_test)
    return _classifier(keras.Model(inputs, outputs), data, 64)


def fashion_two_input(data_dir):
    left, right = keras.Input((28, 14)), keras.Input((28, 14))
    left_features = layers.Dense(32, activation="relu")(layers.Flatten()(left))
    right_features = layers.Conv1D(8, 3, activation="relu")(right)
    right_features = layers.Dense(32, activation="tanh")(layers.Flatten()(right_features))
    merged = layers.Concatenate()([left_features, right_features])
    model = keras.Model([left, right], layers.Dense(10)(merged))
    halves = lambda x: [x[:, :, :14], x[:, :, 14:]]  # noqa: E731
    return _classifier(model, _images("fashion_mnist", data_dir, 4096), 128, inputs=halves)


def fashion_centroid_regression(data_dir):
    (x, _), _ = _images("fashion_mnist", data_dir, 4096, test=0)
    model = _sequential(
        (28, 28), layers.Flatten(), layers.Dense(64, activation="tanh"), layers.Dense(2)
    )
    problem = KerasProblem(model, "mse", x, intensity_centroids(x), batch_size=128)
    problem.loss_label = "mean squared error of the centroid, in [-1, 1] image coordinates"
    return problem


def fashion_conv_autoencoder(data_dir):
    (x, _), _ = _images("fashion_mnist", data_dir, 2048, test=0)
    x = x[..., None]
    model = _sequential(
        (28, 28, 1),
        layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),
    )
    problem = KerasProblem(model, "mse", x, x, batch_size=64)
    problem.loss_label = "mean squared reconstruction error (pixels in [0, 1])"
    return problem


def cifar_resmlp_layernorm(data_dir):
    inputs = keras.Input((32, 32, 3))
    x = layers.Dense(64)(layers.Flatten()(inputs))
    for _ in range(2):
        hidden = layers.Dense(128, activation="gelu")(layers.LayerNormalization()(x))
        x = x + layers.Dense(64)(hidden)
    outputs = layers.Dense(10)(layers.LayerNormalization()(x))
    return _classifier(keras.Model(inputs, outputs), _images("cifar10", data_dir, 4096), 32)


def cifar_logistic_b512(data_dir):
    model = _sequential((32, 32, 3), layers.Flatten(), layers.Dense(10))
    return _classifier(model, _images("cifar10", data_dir, 6000), 512)


def fashion_separable_conv_b16(data_dir):
    model = _sequential(
        (28, 28, 1),
        layers.SeparableConv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.SeparableConv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.GlobalAveragePooling2D(), layers.Dense(10),
    )
    return _classifier(model, _with_channel(_images("fashion_mnist", data_dir, 2048)), 16)


# -- data helpers -------------------------------------------------------------------

TOKEN_VOCAB, TOKEN_LENGTH = 10, 20


def token_sequences(count, seed):
    """`(tokens [count, 20], labels)`: label = the most frequent token (ties: the smallest).

    Uniform tokens from a vocabulary of 10, then 2-6 positions overwritten with
    one random token, so the answer is usually but not always clear.
    """
    rng = np.random.default_rng(1000 + seed)
    tokens = rng.integers(0, TOKEN_VOCAB, size=(count, TOKEN_LENGTH))
    for row, extra in zip(tokens, rng.integers(2, 7, size=count)):
        row[rng.choice(TOKEN_LENGTH, extra, replace=False)] = rng.integers(TOKEN_VOCAB)
    counts = np.stack([np.bincount(row, minlength=TOKEN_VOCAB) for row in tokens])
    return tokens.astype(np.int32), counts.argmax(axis=1).astype(np.int32)


def patches(images):
    """28x28 images as 16 tokens: each 7x7 patch (49 values) and its position one-hot (16)."""
    count = len(images)
    grid = images.reshape(count, 4, 7, 4, 7).transpose(0, 1, 3, 2, 4).reshape(count, 16, 49)
    positions = np.broadcast_to(np.eye(16, dtype=np.float32), (count, 16, 16))
    return np.concatenate([grid, positions], axis=-1)


def intensity_centroids(images):
    """Each image's intensity-weighted (row, column) centre, scaled to [-1, 1]."""
    coordinates = np.linspace(-1.0, 1.0, images.shape[1], dtype=np.float32)
    mass = images.sum(axis=(1, 2)) + 1e-6
    rows = (images.sum(axis=2) * coordinates).sum(axis=1) / mass
    columns = (images.sum(axis=1) * coordinates).sum(axis=1) / mass
    return np.stack([rows, columns], axis=1)


def _with_channel(data):
    (x, y), (x_test, y_test) = data
    return (x[..., None], y), (x_test[..., None], y_test)


# -- the suite ----------------------------------------------------------------------

SUITE = [
    SuiteTask("mnist-conv-bn-dropout", mnist_conv_bn_dropout, (
        "MNIST, 2 strided 3x3 convs (8, 16 channels) with batch norm and ReLU, "
        "dropout 0.25, dense; batch 64, 2,048 training images"
    )),
    SuiteTask("cifar-conv-bn-dropout", cifar_conv_bn_dropout, (
        "CIFAR-10 subset, 3 strided convs (8, 16, 32 channels) with batch norm, "
        "dropout 0.2 twice, global average pooling; batch 64, 2,048 images"
    )),
    SuiteTask("fashion-rows-lstm", fashion_rows_lstm, (
        "Fashion-MNIST rows as a sequence (28 steps x 28 features), LSTM(32), "
        "dense; batch 32, 2,048 images"
    )),
    SuiteTask("tokens-embedding-gru", tokens_embedding_gru, (
        "synthetic token sequences (length 20, vocabulary 10), label = the most "
        "frequent token; embedding 16, GRU(32); batch 64, 4,096 sequences"
    )),
    SuiteTask("mnist-patch-transformer", mnist_patch_transformer, (
        "MNIST as 16 patches of 7x7 with position one-hots, one transformer block "
        "(2-head attention, layer norm, GELU MLP, residuals), mean pooling; batch 64, "
        "2,048 images"
    )),
    SuiteTask("fashion-two-input", fashion_two_input, (
        "Fashion-MNIST left and right image halves into a two-input functional "
        "model (dense branch, conv1d branch, concatenated); batch 128, 4,096 images"
    )),
    SuiteTask("fashion-centroid-regression", fashion_centroid_regression, (
        "regress each Fashion-MNIST image's intensity centroid (MSE), MLP "
        "784-64-2 tanh; batch 128, 4,096 images"
    )),
    SuiteTask("fashion-conv-autoencoder", fashion_conv_autoencoder, (
        "Fashion-MNIST conv autoencoder (2 strided convs, 2 transposed convs, "
        "sigmoid output), MSE; batch 64, 2,048 images"
    )),
    SuiteTask("cifar-resmlp-layernorm", cifar_resmlp_layernorm, (
        "CIFAR-10 subset, residual MLP (width 64, 2 pre-norm blocks with layer "
        "norm and GELU); batch 32, 4,096 images"
    )),
    SuiteTask("cifar-logistic-b512", cifar_logistic_b512, (
        "CIFAR-10 subset, logistic regression on raw pixels; batch 512, all "
        "6,000 images"
    )),
    SuiteTask("fashion-separable-conv-b16", fashion_separable_conv_b16, (
        "Fashion-MNIST, 2 depthwise-separable convs with max-pooling, global "
        "average pooling; batch 16, 2,048 images"
    )),
]

TASKS = {task.name: task for task in SUITE}


def build_task(name, data_dir=None):
    """The `KerasProblem` of suite task `name`, described by its `description`."""
    if name not in TASKS:
        raise ValueError(f"Unknown suite task {name!r}; available: {', '.join(TASKS)}.")
    task = TASKS[name]
    problem = task.build(data_dir)
    problem.description = task.description
    return problem
