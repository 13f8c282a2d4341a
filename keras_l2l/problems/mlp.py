"""MLP classifiers on MNIST / Fashion-MNIST / CIFAR-10 or any TFDS image-classification
dataset (the paper's 784-20-10 sigmoid net)."""

import math

import numpy as np
import tensorflow as tf

from keras_l2l import datasets, tfds_data
from keras_l2l.problems.base import Problem, batched_mean, sample_indices
from keras_l2l.problems.keras_problem import EVAL_LIMIT_BYTES, TrainingData, read_examples

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

    `dataset` is ``mnist``, ``fashion_mnist`` or ``cifar10`` (`keras_l2l.datasets`,
    from `data_dir`), or any TFDS image-classification dataset spelled
    ``tfds:NAME[:SPLIT]`` (`keras_l2l.tfds_data`: images flattened, in [0, 1];
    as many outputs as classes; its ``test`` split, if any, for the test
    metric). A TFDS training split larger than 256 MB as float32 (or
    `stream=True`) is streamed, not held in memory: `batch` then returns the
    stream's next batch, shuffled through a buffer seeded by `shuffle_seed`,
    whatever (seed, step), and the evaluation loss is over its first 10,000
    examples (see `KerasProblem` for what streaming means for reproducibility).
    `image_size` resizes TFDS images, `download` is as in `tfds_data.load`.
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
        stream=None,
        image_size=None,
        download=None,
        shuffle_seed=0,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        if init not in ("normal", "glorot"):
            raise ValueError(f"init must be 'normal' or 'glorot', got {init!r}.")
        self.dataset, self.hidden = dataset, tuple(int(h) for h in hidden)
        self.activation, self.batch_size, self.init = activation, int(batch_size), init
        self.stream, self.tfds = None, None
        if tfds_data.is_tfds(dataset):
            inputs = self._load_tfds(dataset, data_dir, stream, image_size, download, shuffle_seed)
        else:
            if stream:
                raise ValueError("stream=True is for TFDS datasets (tfds:NAME).")
            (self.x_train, self.y_train), (self.x_test, self.y_test) = load_split(
                dataset, data_dir
            )
            self.x_train = tf.reshape(self.x_train, [self.x_train.shape[0], -1])
            self.x_test = tf.reshape(self.x_test, [self.x_test.shape[0], -1])
            self.x_eval, self.y_eval = self.x_train, self.y_train
            self.num_classes, inputs = 10, self.x_train.shape[1]
            self.eval_set = f"full {dataset} training split ({self.x_train.shape[0]} examples)"
        sizes = [inputs, *self.hidden, self.num_classes]
        self.layer_sizes = list(zip(sizes[:-1], sizes[1:]))
        hidden_name = "-".join(str(h) for h in self.hidden)
        self.name = f"{dataset}_mlp_{hidden_name}_{activation}"
        self.test_metric_name = "test_accuracy" if self.x_test is not None else None

    def _load_tfds(self, dataset, data_dir, stream, image_size, download, shuffle_seed):
        """Training data from TFDS, in memory or streamed; returns the input size."""
        data = tfds_data.load(dataset, data_dir=data_dir, download=download,
                              image_size=image_size)
        self.tfds, self.num_classes = data, data.num_classes
        train = data.dataset(shuffle_files=True, seed=shuffle_seed, flatten=True)
        self.data = TrainingData(train, batch_size=self.batch_size, batched=False,
                                 stream=stream, shuffle_seed=shuffle_seed)
        self.stream = self.data.stream
        self.x_train, self.y_train = self.data.x, self.data.y
        self.x_eval, self.y_eval = self.data.x_eval, self.data.y_eval
        self.eval_set = self.data.describe(f"{dataset} training split")
        if self.stream is not None:
            self.full_batch_skip_reason = self.data.stream_reason()
        self.x_test = self.y_test = None
        if data.test_split is not None:
            test = data.dataset(data.test_split, flatten=True)
            x, y = read_examples(test, batched=False, max_bytes=EVAL_LIMIT_BYTES, truncate=True)
            self.x_test, self.y_test = tf.constant(x), tf.constant(y)
        return math.prod(data.image_shape)

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
        if self.stream is not None:
            return self.stream.next()
        idx = sample_indices(seed, step, self.batch_size, self.x_train.shape[0])
        return tf.gather(self.x_train, idx), tf.gather(self.y_train, idx)

    def loss(self, params, batch):
        x, y = batch
        return tf.reduce_mean(cross_entropy(y, self.logits(params, x)))

    def eval_loss(self, params, seed):
        return batched_mean(
            lambda x, y: cross_entropy(y, self.logits(params, x)),
            self.x_eval,
            self.y_eval,
        )

    def test_metric(self, params, seed):
        if self.x_test is None:
            return None
        predictions = tf.argmax(self.logits(params, self.x_test), axis=1, output_type=tf.int32)
        return tf.reduce_mean(tf.cast(tf.equal(predictions, self.y_test), tf.float32))
