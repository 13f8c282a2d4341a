"""Any Keras model as a problem, made functional with `Model.stateless_call`."""

import random

import keras
import numpy as np
import tensorflow as tf

from keras_l2l.problems.base import Problem, batched_mean, sample_indices


#: A dataset whose examples would take more than this many bytes in memory is streamed.
MATERIALIZE_LIMIT_BYTES = 256 * 2**20
#: Streamed data: `eval_loss` is over the first examples, at most this many and this many bytes.
EVAL_EXAMPLES = 10_000
EVAL_LIMIT_BYTES = 128 * 2**20
#: Streamed data: the shuffle buffer holds at most this many examples and this many bytes.
SHUFFLE_BUFFER = 10_000
SHUFFLE_LIMIT_BYTES = 64 * 2**20


def _as_arrays(x, y):
    """(x, y) arrays, checked to have the same number of examples."""
    if y is None or len(x) != len(y):
        raise ValueError("x and y must be arrays with the same number of examples.")
    return np.asarray(x), np.asarray(y)


class BatchStream:
    """The batches of a `tf.data` pipeline, drawn in order, eagerly or inside `tf.function`.

    The iterator is made once, eagerly, so every compiled function that calls
    `next()` (rollouts, meta-training unrolls, in `tf.while_loop` bodies)
    advances the same stream; no batch is drawn twice. Not for `jit_compile=True`
    (XLA cannot compile a `tf.data` iterator).
    """

    def __init__(self, dataset):
        self.dataset = dataset
        with tf.init_scope():
            self._iterator = iter(dataset)

    def next(self):
        return self._iterator.get_next()


def _pairs_spec(dataset):
    spec = dataset.element_spec
    if not isinstance(spec, (tuple, list)) or len(spec) != 2:
        raise ValueError(
            "A dataset for KerasProblem yields (x, y) pairs (sample weights are not "
            f"supported); its elements are {spec}."
        )
    return spec


def is_batched(dataset, model=None, inputs=None):
    """Whether `dataset` yields batches (as for `model.fit`) rather than single examples.

    Told from the rank of x against the model's single input when known (and no
    `inputs` mapping intervenes), else batches are assumed, as Keras does.
    """
    x_spec = _pairs_spec(dataset)[0]
    try:
        model_inputs = model.inputs if model is not None and inputs is None else None
    except AttributeError:  # a subclassed model has no symbolic inputs
        model_inputs = None
    if model_inputs and len(model_inputs) == 1 and isinstance(x_spec, tf.TensorSpec):
        if x_spec.shape.rank is not None:
            return x_spec.shape.rank != len(model_inputs[0].shape) - 1
    return True


def _example_bytes(dataset, batched):
    """Bytes of one example from the element spec, None when a size is not static."""
    total = 0
    for spec in tf.nest.flatten(_pairs_spec(dataset)):
        shape = spec.shape[1:] if batched else spec.shape
        if not shape.is_fully_defined():
            return None
        total += spec.dtype.size * max(1, shape.num_elements())
    return total


def _too_large(dataset, batched):
    """Whether the whole dataset is known to exceed `MATERIALIZE_LIMIT_BYTES` (or is infinite)."""
    count = int(dataset.cardinality())
    if count == tf.data.INFINITE_CARDINALITY:
        return True
    if batched:  # examples per batch: the static batch size, if any
        leading = tf.nest.flatten(dataset.element_spec)[0].shape
        per_element = leading[0] if leading.rank else None
    else:
        per_element = 1
    size = _example_bytes(dataset, batched)
    if count < 0 or size is None or per_element is None:
        return False  # unknown: read it, stopping at the limit
    return count * per_element * size > MATERIALIZE_LIMIT_BYTES


def read_examples(dataset, batched, max_examples=None, max_bytes=None, truncate=False):
    """The first examples of a dataset of (x, y) as numpy arrays `(x, y)`.

    Reads at most `max_examples`. Past `max_bytes`, returns None, or with
    `truncate` the examples that fit. Raises on an infinite dataset read whole.
    """
    if max_examples is None and max_bytes is None:
        if int(dataset.cardinality()) == tf.data.INFINITE_CARDINALITY:
            raise ValueError("An infinite dataset cannot be read into memory; stream it.")
    source = dataset if batched else dataset.batch(1024)
    xs, ys, count, size = [], [], 0, 0
    for x, y in source.as_numpy_iterator():
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ValueError("Every (x, y) batch must hold as many x as y.")
        keep = len(x)
        if max_examples is not None:
            keep = min(keep, max_examples - count)
        per_example = (x.nbytes + y.nbytes) / max(1, len(x))
        if max_bytes is not None and size + keep * per_example > max_bytes:
            if not truncate:
                return None
            keep = min(keep, int((max_bytes - size) // max(per_example, 1)))
        if keep > 0:
            xs.append(x[:keep])
            ys.append(y[:keep])
            count, size = count + keep, size + keep * per_example
        if keep < len(x) or (max_examples is not None and count >= max_examples):
            break
    if not xs:
        raise ValueError("The dataset gave no examples (empty, or one example over max_bytes).")
    return np.concatenate(xs), np.concatenate(ys)


def stream_batches(dataset, batched, batch_size, shuffle_buffer=SHUFFLE_BUFFER, seed=0):
    """The repeated, shuffled, batched, prefetched pipeline a streamed problem draws from.

    `batch_size` None keeps the dataset's own batches (only repeated). Else
    the examples (unbatched first if `batched`) pass a shuffle buffer of at
    most `shuffle_buffer` examples and `SHUFFLE_LIMIT_BYTES`, seeded by `seed`,
    and are batched to `batch_size` (full batches only). Deterministic in `seed`.
    """
    if batch_size is None:
        return dataset.repeat().prefetch(tf.data.AUTOTUNE)
    examples = dataset.unbatch() if batched else dataset
    size = _example_bytes(dataset, batched)
    if size:
        shuffle_buffer = min(shuffle_buffer, max(1, SHUFFLE_LIMIT_BYTES // size))
    examples = examples.repeat()
    if shuffle_buffer > 1:
        examples = examples.shuffle(shuffle_buffer, seed=seed)
    return examples.batch(int(batch_size), drop_remainder=True).prefetch(tf.data.AUTOTUNE)


class TrainingData:
    """A problem's training data: in memory (`x`, `y`) or streamed (`stream`).

    Arrays stay in memory. A `tf.data.Dataset` of (x, y) (batches, or single
    examples if `batched` is False) is read into memory when `stream` is False,
    or when `stream` is None ("auto") and it is finite and its examples take at
    most `MATERIALIZE_LIMIT_BYTES`; otherwise it is streamed through
    `stream_batches`, and the first `EVAL_EXAMPLES` examples (at most
    `EVAL_LIMIT_BYTES`) are kept in memory as the evaluation set. `x_eval`,
    `y_eval` are the examples evaluated on (all of them when in memory); all
    are tensors (None: streamed).
    """

    def __init__(self, x, y=None, batch_size=128, batched=True, stream=None,
                 shuffle_buffer=SHUFFLE_BUFFER, shuffle_seed=0):
        self.stream = None
        if not isinstance(x, tf.data.Dataset):
            if stream or batch_size is None:
                raise ValueError(
                    "stream=True and batch_size=None (the data's own batches) need a "
                    "tf.data.Dataset, not arrays."
                )
            self.x, self.y = (tf.constant(a) for a in _as_arrays(x, y))
            self.x_eval, self.y_eval = self.x, self.y
            return
        if y is not None:
            raise ValueError("Pass either a tf.data.Dataset of (x, y) or arrays x and y.")
        _pairs_spec(x)
        if batch_size is None and not batched:
            raise ValueError("A dataset of single examples needs a batch_size.")
        arrays = None
        if stream is False:
            if batch_size is None:
                raise ValueError("stream=False (in memory) needs a batch_size to sample with.")
            arrays = read_examples(x, batched)
        elif stream is None and batch_size is not None and not _too_large(x, batched):
            arrays = read_examples(x, batched, max_bytes=MATERIALIZE_LIMIT_BYTES)
        if arrays is not None:
            self.x, self.y = (tf.constant(a) for a in arrays)
            self.x_eval, self.y_eval = self.x, self.y
            return
        self.x = self.y = None
        self.stream = BatchStream(
            stream_batches(x, batched, batch_size, shuffle_buffer, shuffle_seed)
        )
        self.x_eval, self.y_eval = (tf.constant(a) for a in read_examples(
            x, batched, max_examples=EVAL_EXAMPLES, max_bytes=EVAL_LIMIT_BYTES, truncate=True
        ))

    def describe(self, what="training data"):
        """`eval_set` words: what the evaluation loss is over."""
        count = int(self.x_eval.shape[0])
        if self.stream is None:
            return f"full {what} ({count} examples)"
        return f"the first {count} examples of the streamed {what}"

    def stream_reason(self):
        """Why a full-batch method does not apply to streamed data (None when in memory)."""
        if self.stream is None:
            return None
        return (
            f"the training data are streamed, so eval_loss is over a fixed subset of "
            f"{int(self.x_eval.shape[0])} examples, which a full-batch method would fit "
            "instead of the data"
        )


class KerasProblem(Problem):
    """Learn an optimizer for a model you train over and over.

    `model` is a built Keras model; `loss` a Keras loss name or per-example loss
    function `(y_true, y_pred)`; `x, y` the training data as arrays, or `x` a
    `tf.data.Dataset` of `(x, y)` batches, as for `model.fit` (or of single
    examples: told from the model's input rank, or `batched=False`).
    Each seed re-initializes the trainable weights with the model's own
    initializers; non-trainable weights (e.g. a frozen backbone) keep the
    model's values.

    Data in memory (arrays, and datasets read into memory: see below) are
    sampled with replacement, `batch_size` examples per step, deterministically
    in (seed, step): every optimizer of an evaluation sees the same minibatches.
    A dataset is streamed instead when it is infinite, or larger than
    `MATERIALIZE_LIMIT_BYTES` (256 MB), or `stream=True`, or `batch_size=None`
    (its own batches, as they come): it is repeated, shuffled through a
    buffer seeded by `shuffle_seed` and batched (`stream_batches`), and
    `batch(seed, step)` returns its next batch, ignoring seed and step except
    for the random layers' noise key. A stream replays exactly in a fresh
    problem given the same calls, but is not addressable by (seed, step):
    consecutive runs draw consecutive batches, so optimizers compared on it see
    different (equally distributed) minibatches, and it cannot run in an
    XLA-compiled (`jit_compile=True`) function. `stream=False` forces memory.
    Streamed, `eval_loss` is over the first `EVAL_EXAMPLES` (10,000) examples,
    held in memory, and `x_train`/`y_train` are None (`x_eval`/`y_eval` are
    what `eval_loss` is over in both cases).

    Layers such as batch norm run in training mode (batch statistics), also
    for the evaluation loss, which is over the whole training data; that loss
    is deterministic, so full-batch methods apply, unless a layer draws random
    numbers (dropout, noise, random augmentation) or the data are streamed.
    Random layers get fresh random numbers at every (seed, step): `batch`
    returns `(x, y, noise_key)` and the key replaces the layers' seed-generator
    states (else every step would reuse the model's one frozen dropout mask);
    `eval_loss` and `test_metric` use one fixed draw per seed, so they stay
    reproducible. `loss_label` is the loss's name. `test_data` (`(x, y)`
    arrays or a dataset, read into memory up to `EVAL_LIMIT_BYTES`) and `metric`
    (a function `(y_true, y_pred) -> per-example score`, default accuracy for
    integer labels) give the test metric. `inputs`, if given, maps a batch of
    stored `x` to the model's inputs inside the graph (e.g. splitting images
    into the two inputs of a two-branch model).
    `KerasProblem.from_tfds(model, loss, "cifar10")` takes the data from TFDS.
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
        stream=None,
        batched=None,
        shuffle_seed=0,
    ):
        if not model.built:
            raise ValueError("Build the model (call it once or give it an Input) first.")
        self.model = model
        self.loss_fn = keras.losses.get(loss)
        if isinstance(x, tf.data.Dataset) and batched is None:
            batched = is_batched(x, model, inputs)
        self.data = TrainingData(x, y, batch_size, batched, stream, shuffle_seed=shuffle_seed)
        self.stream = self.data.stream
        self.x_train, self.y_train = self.data.x, self.data.y
        self.x_eval, self.y_eval = self.data.x_eval, self.data.y_eval
        self.batch_size = None if batch_size is None else int(batch_size)
        self.test_data, self.test_metric_name = None, None  # no test data, no test metric
        if test_data is not None:
            if isinstance(test_data, tf.data.Dataset):
                arrays = read_examples(
                    test_data, is_batched(test_data, model, inputs) if batched is None
                    else batched, max_bytes=EVAL_LIMIT_BYTES, truncate=True,
                )
            else:
                arrays = _as_arrays(*test_data)
            self.test_data = tuple(tf.constant(a) for a in arrays)
            self.test_metric_name = "test_accuracy" if metric == "accuracy" else "test_metric"
        self.metric = _accuracy if metric == "accuracy" else metric
        self.name = name
        self.eval_set = self.data.describe()
        self.inputs = inputs or (lambda x: x)
        self.non_trainable = [tf.convert_to_tensor(v) for v in model.non_trainable_variables]
        self._noise_slots = _seed_state_slots(model)
        self.loss_label = _loss_name(self.loss_fn)
        random_layers = ", ".join(_random_layers(model))
        reasons = [self.data.stream_reason()]
        if random_layers:
            reasons.append(
                f"the model has layers that draw random numbers ({random_layers}), so its "
                "loss is random; eval_loss fixes one draw per seed, which a full-batch method "
                "would fit instead of the model's loss"
            )
        self.full_batch_skip_reason = "; ".join(r for r in reasons if r) or None

    @classmethod
    def from_tfds(cls, model, loss, dataset, split=None, data_dir=None, batch_size=128,
                  flatten=False, image_size=None, download=None, shuffle_seed=0, **kwargs):
        """A problem on the TFDS image-classification dataset `dataset` (e.g. ``"cifar10"``).

        `dataset` is a TFDS name, with or without ``tfds:`` and a split
        (``"tfds:mnist:train[:50%]"``); `split` overrides it (default
        ``train``). Images are float32 in [0, 1] of shape (H, W, C) (`flatten`:
        vectors; `image_size`: resized), labels int32; the ``test`` split, if
        any, gives the test accuracy. `data_dir` and `download` are as in
        `keras_l2l.tfds_data` (a local prepared TFDS directory; no download
        when a data directory is given). Small data are read into memory,
        larger ones streamed (see the class); `shuffle_seed` seeds the file
        order and the shuffle buffer. Other arguments go to `KerasProblem`.
        """
        from keras_l2l import tfds_data

        data = tfds_data.load(dataset, split, data_dir, download, image_size)
        train = data.dataset(shuffle_files=True, seed=shuffle_seed, flatten=flatten)
        test = None
        if data.test_split is not None and "test_data" not in kwargs:
            test = data.dataset(data.test_split, flatten=flatten)
        kwargs.setdefault("test_data", test)
        kwargs.setdefault("name", f"tfds:{data.name}")
        problem = cls(model, loss, train, batch_size=batch_size, batched=False,
                      shuffle_seed=shuffle_seed, **kwargs)
        problem.tfds = data
        return problem

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
        if self.stream is not None:
            x, y = self.stream.next()
            return x, y, noise_key(seed, step)
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
            self.x_eval,
            self.y_eval,
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
