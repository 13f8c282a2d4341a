"""Any Keras model as a problem, made functional with `Model.stateless_call`."""

import random

import keras
import numpy as np
import tensorflow as tf

from keras_l2l.problems.base import Problem, batched_mean, sample_indices


def _as_arrays(x, y):
    """(x, y) arrays from arrays or from a finite `tf.data.Dataset` of (x, y) pairs."""
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError("Pass either a tf.data.Dataset of (x, y) or arrays x and y.")
        xs, ys = zip(*[(np.asarray(a), np.asarray(b)) for a, b in x.unbatch()])
        return np.stack(xs), np.stack(ys)
    if y is None or len(x) != len(y):
        raise ValueError("x and y must be arrays with the same number of examples.")
    return np.asarray(x), np.asarray(y)


class KerasProblem(Problem):
    """Learn an optimizer for a model you train over and over.

    `model` is a built Keras model; `loss` a Keras loss name or per-example loss
    function `(y_true, y_pred)`; `x, y` the training data as arrays (or `x` a
    finite `tf.data.Dataset` of `(x, y)`, read into memory once). Each seed
    re-initializes the trainable weights with the model's own initializers;
    non-trainable weights (e.g. a frozen backbone) keep the model's values.
    Layers such as batch norm run in training mode (batch statistics), also
    for the evaluation loss, which is over the whole training data; that loss
    is deterministic, so full-batch methods apply, unless a layer draws random
    numbers (dropout, noise, random augmentation). Such layers get fresh
    random numbers at every (seed, step): `batch` returns `(x, y, noise_key)`
    and the key replaces the layers' seed-generator states (else every step
    would reuse the model's one frozen dropout mask); `eval_loss` and
    `test_metric` use one fixed draw per seed, so they stay reproducible.
    `loss_label` is the loss's name. `test_data=(x, y)` and `metric` (a
    function `(y_true, y_pred) -> per-example score`, default accuracy for
    integer labels) give the test metric. `inputs`, if given, maps a batch of
    stored `x` to the model's inputs inside the graph (e.g. splitting images
    into the two inputs of a two-branch model).
    """

    def __init__(
        self,
        model,
        loss,
        x,
        y=None,
        batch_size=128,
        test_data=None,
        metric="accuracy",
        name="keras_model",
        inputs=None,
    ):
        if not model.built:
            raise ValueError("Build the model (call it once or give it an Input) first.")
        self.model = model
        self.loss_fn = keras.losses.get(loss)
        x, y = _as_arrays(x, y)
        self.x_train, self.y_train = tf.constant(x), tf.constant(y)
        self.batch_size = int(batch_size)
        self.test_data, self.test_metric_name = None, None  # no test data, no test metric
        if test_data is not None:
            self.test_data = tuple(tf.constant(a) for a in _as_arrays(*test_data))
            self.test_metric_name = "test_accuracy" if metric == "accuracy" else "test_metric"
        self.metric = _accuracy if metric == "accuracy" else metric
        self.name = name
        self.eval_set = f"full training data ({x.shape[0]} examples)"
        self.inputs = inputs or (lambda x: x)
        self.non_trainable = [tf.convert_to_tensor(v) for v in model.non_trainable_variables]
        self._noise_slots = _seed_state_slots(model)
        self.loss_label = _loss_name(self.loss_fn)
        random_layers = ", ".join(_random_layers(model))
        self.full_batch_skip_reason = (
            f"the model has layers that draw random numbers ({random_layers}), so its "
            "loss is random; eval_loss fixes one draw per seed, which a full-batch method "
            "would fit instead of the model's loss"
            if random_layers
            else None
        )

    def init_params(self, seed):
        """Fresh trainable weights from the model's initializers, deterministic in `seed`.

        Keras draws unseeded initializers' seeds from Python's `random`, so the
        clone is made under a seeded `random` whose state is restored after.
        """
        saved = random.getstate()
        try:
            random.seed(int(seed))
            clone = keras.models.clone_model(self.model)
        finally:
            random.setstate(saved)
        return [tf.convert_to_tensor(v) for v in clone.trainable_variables]

    def shapes(self):
        return [tuple(v.shape) for v in self.model.trainable_variables]

    def predict(self, params, x, noise_key):
        """The model's training-mode output; random layers draw from `noise_key`."""
        non_trainable = list(self.non_trainable)
        if self._noise_slots:
            states = noise_states(noise_key, len(self._noise_slots))
            for row, slot in enumerate(self._noise_slots):
                non_trainable[slot] = tf.cast(states[row], non_trainable[slot].dtype)
        y_pred, _ = self.model.stateless_call(
            params, non_trainable, self.inputs(x), training=True
        )
        return y_pred

    def batch(self, seed, step):
        idx = sample_indices(seed, step, self.batch_size, self.x_train.shape[0])
        return tf.gather(self.x_train, idx), tf.gather(self.y_train, idx), noise_key(seed, step)

    def loss(self, params, batch):
        x, y, key = batch
        return tf.reduce_mean(self.per_example_loss(params, x, y, key))

    def per_example_loss(self, params, x, y, noise_key):
        """One loss per example: a loss that keeps more axes (MSE of images) is averaged over them.

        So the full-data mean in `eval_loss` is on the same scale as the minibatch `loss`.
        """
        losses = self.loss_fn(y, self.predict(params, x, noise_key))
        if losses.shape.rank == 0:
            raise ValueError(
                f"The loss {self.loss_label!r} returned a scalar; KerasProblem needs one value "
                "per example: pass a loss name, a function, or a Loss with reduction=None."
            )
        return tf.reduce_mean(tf.reshape(losses, [tf.shape(losses)[0], -1]), axis=1)

    def eval_loss(self, params, seed):
        key = noise_key(seed, EVAL_STEP)
        return batched_mean(
            lambda x, y: self.per_example_loss(params, x, y, key),
            self.x_train,
            self.y_train,
        )

    def test_metric(self, params, seed):
        if self.test_data is None:
            return None
        x, y = self.test_data
        key = noise_key(seed, EVAL_STEP)
        return batched_mean(lambda a, b: self.metric(b, self.predict(params, a, key)), x, y)


#: The step whose noise `eval_loss` and `test_metric` use (training steps are >= 0).
EVAL_STEP = -1
_NOISE_SALT = 0x5EED  # keeps the noise apart from the batch indices drawn from (seed, step)


def noise_key(seed, step):
    """The int64 key of the random layers' draws at (seed, step)."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])


def noise_states(key, count):
    """`count` seed-generator states `[count, 2]` derived from `key`, one per generator.

    Distinct rows, so two dropout layers of the same shape draw different masks.
    """
    keys = tf.random.split(tf.random.fold_in(key, _NOISE_SALT), count)
    return tf.cast(keys, tf.int64)


def _seed_state_slots(model):
    """Positions in `model.non_trainable_variables` of the layers' seed-generator states."""
    states = {
        id(generator.state)
        for layer in model._flatten_layers()
        for generator in layer._seed_generators
    }
    return [i for i, v in enumerate(model.non_trainable_variables) if id(v) in states]


def _loss_name(loss_fn):
    """A Keras `Loss` object's `name`, else the function's `__name__` ("loss" for a lambda)."""
    name = getattr(loss_fn, "name", None) or getattr(loss_fn, "__name__", "")
    return name if name.isidentifier() else "loss"


def _random_layers(model):
    """Class names of the layers, nested ones included, that draw random numbers.

    Keras gives exactly those layers a `SeedGenerator` (Dropout and GaussianNoise
    only when their rate is above 0, random augmentation layers always).
    """
    return list(
        dict.fromkeys(
            type(layer).__name__ for layer in model._flatten_layers() if layer._seed_generators
        )
    )


def _accuracy(y_true, y_pred):
    predictions = tf.argmax(y_pred, axis=-1, output_type=tf.int32)
    return tf.cast(tf.equal(predictions, tf.cast(tf.reshape(y_true, [-1]), tf.int32)), tf.float32)
