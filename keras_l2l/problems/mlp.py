"""MLP classifiers on MNIST / Fashion-MNIST (the paper's 784-20-10 sigmoid net)."""

import math

import numpy as np
import tensorflow as tf

from keras_l2l import datasets
from keras_l2l.problems.base import Problem, batched_mean, sample_indices

ACTIVATIONS = {"sigmoid": tf.sigmoid, "relu": tf.nn.relu, "tanh": tf.tanh, "gelu": tf.nn.gelu}


def load_split(dataset, data_dir=None, classes=None):
    """Float32 images in [0, 1] and int32 labels, optionally restricted to `classes`.

    With `classes`, labels are renumbered 0..len(classes)-1 in the given order.
    """
    (x_train, y_train), (x_test, y_test) = datasets.load(dataset, data_dir)

    def prepare(x, y):
        y = np.asarray(y).reshape(-1).astype(np.int64)
        if classes is not None:
            relabel = np.full(max(10, max(classes) + 1), -1)
            relabel[list(classes)] = np.arange(len(classes))
            keep = np.isin(y, classes)
            x, y = x[keep], relabel[y[keep]]
        return tf.constant(x, tf.float32) / 255.0, tf.constant(y, tf.int32)

    return prepare(x_train, y_train), prepare(x_test, y_test)


def cross_entropy(labels, logits):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


class MLP(Problem):
    """A fully connected classifier trained on minibatches of the training split.

    Defaults are the paper's: one hidden layer of 20 sigmoid units, batch 128,
    weights and biases ~ N(0, 0.01^2) (`init="normal"`, as the DeepMind code);
    `init="glorot"` gives Keras' default (Glorot-uniform kernels, zero biases).
    The evaluation loss is over the full training split; the test metric is
    accuracy on the test split.
    """

    loss_label = "cross-entropy (nats)"
    full_batch_skip_reason = None  # eval_loss: the loss over the whole training split

    def __init__(
        self,
        dataset="mnist",
        hidden=(20,),
        activation="sigmoid",
        batch_size=128,
        init="normal",
        data_dir=None,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        if init not in ("normal", "glorot"):
            raise ValueError(f"init must be 'normal' or 'glorot', got {init!r}.")
        self.dataset, self.hidden = dataset, tuple(int(h) for h in hidden)
        self.activation, self.batch_size, self.init = activation, int(batch_size), init
        (self.x_train, self.y_train), (self.x_test, self.y_test) = load_split(
            dataset, data_dir
        )
        self.x_train = tf.reshape(self.x_train, [self.x_train.shape[0], -1])
        self.x_test = tf.reshape(self.x_test, [self.x_test.shape[0], -1])
        sizes = [self.x_train.shape[1], *self.hidden, 10]
        self.layer_sizes = list(zip(sizes[:-1], sizes[1:]))
        hidden_name = "-".join(str(h) for h in self.hidden)
        self.name = f"{dataset}_mlp_{hidden_name}_{activation}"
        self.eval_set = f"full {dataset} training split ({self.x_train.shape[0]} examples)"
        self.test_metric_name = "test_accuracy"

    def init_params(self, seed):
        rng = np.random.default_rng(seed)
        params = []
        for fan_in, fan_out in self.layer_sizes:
            if self.init == "normal":
                kernel = rng.normal(0.0, 0.01, (fan_in, fan_out))
                bias = rng.normal(0.0, 0.01, (fan_out,))
            else:
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                kernel = rng.uniform(-limit, limit, (fan_in, fan_out))
                bias = np.zeros(fan_out)
            params += [tf.constant(kernel, tf.float32), tf.constant(bias, tf.float32)]
        return params

    def logits(self, params, x):
        activation = ACTIVATIONS[self.activation]
        for i in range(0, len(params), 2):
            x = tf.matmul(x, params[i]) + params[i + 1]
            if i + 2 < len(params):
                x = activation(x)
        return x

    def batch(self, seed, step):
        idx = sample_indices(seed, step, self.batch_size, self.x_train.shape[0])
        return tf.gather(self.x_train, idx), tf.gather(self.y_train, idx)

    def loss(self, params, batch):
        x, y = batch
        return tf.reduce_mean(cross_entropy(y, self.logits(params, x)))

    def eval_loss(self, params, seed):
        return batched_mean(
            lambda x, y: cross_entropy(y, self.logits(params, x)),
            self.x_train,
            self.y_train,
        )

    def test_metric(self, params, seed):
        predictions = tf.argmax(self.logits(params, self.x_test), axis=1, output_type=tf.int32)
        return tf.reduce_mean(tf.cast(tf.equal(predictions, self.y_test), tf.float32))
