"""TFDS datasets for problems and KerasProblem, offline: datasets built here with TFDS' own
builder API into a temporary directory, and `tfds.testing.mock_data` for a real TFDS name.

Nothing here downloads: every load passes a local data directory (so downloading is off)
or download=False.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

tfds = pytest.importorskip("tensorflow_datasets")

from keras_l2l import TrainedRule, flat, tfds_data  # noqa: E402
from keras_l2l.meta.trainer import MetaTrainer  # noqa: E402
from keras_l2l.problems import MLP, KerasProblem, get_problem  # noqa: E402
from keras_l2l.problems import keras_problem  # noqa: E402
from keras_l2l.rollout import make_rollout  # noqa: E402
from keras_l2l.rules.baselines import Adam  # noqa: E402

NO_GCS = tfds.download.DownloadConfig(try_download_gcs=False)
CLASSES, SIDE, TRAIN, TEST = 3, 8, 480, 96


def stripes(count, seed):
    """8x8 grey images: noise plus a bright vertical stripe whose place is the label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, count)
    images = rng.integers(0, 80, (count, SIDE, SIDE, 1)).astype(np.uint8)
    for image, label in zip(images, labels):
        image[:, 3 * label : 3 * label + 2] += 170
    return images, labels


class TinyStripes(tfds.core.GeneratorBasedBuilder):
    """A learnable image-classification dataset: stripe position -> label."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(SIDE, SIDE, 1)),
                "label": tfds.features.ClassLabel(num_classes=CLASSES),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(TRAIN, 0),
                "test": self._generate_examples(TEST, 1)}

    def _generate_examples(self, count, seed):
        for i, (image, label) in enumerate(zip(*stripes(count, seed))):
            yield i, {"image": image, "label": int(label)}


class TinyTable(tfds.core.GeneratorBasedBuilder):
    """Not image classification: a vector of features and a label."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                "features": tfds.features.Tensor(shape=(4,), dtype=np.float32),
                "label": tfds.features.ClassLabel(num_classes=2),
            }),
            supervised_keys=("features", "label"),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i in range(8):
            yield i, {"features": np.full(4, i, np.float32), "label": i % 2}


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    """A TFDS data directory holding tiny_stripes and tiny_table, built offline."""
    directory = tmp_path_factory.mktemp("tfds")
    for builder_class in (TinyStripes, TinyTable):
        builder_class(data_dir=str(directory)).download_and_prepare(download_config=NO_GCS)
    return directory


def small_model(flat_inputs=False):
    shape = (SIDE * SIDE,) if flat_inputs else (SIDE, SIDE, 1)
    layers = [keras.Input(shape)] + ([] if flat_inputs else [keras.layers.Flatten()])
    return keras.Sequential(layers + [keras.layers.Dense(16, activation="relu"),
                                      keras.layers.Dense(CLASSES)])


LOGITS = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)


def losses_of(problem, rule, meta, steps=60, seed=0):
    """Minibatch losses of a compiled rollout (the loop evaluation and validation use)."""
    run = make_rollout(rule, problem)
    params = flat.flatten(problem.init_params(seed))
    losses, final = run(meta, params, tf.constant(seed, tf.int64), tf.constant(steps))
    return losses.numpy(), flat.unflatten(final, problem.shapes())


def adam(rate=0.01):
    return Adam(), {"learning_rate": tf.constant(rate, tf.float32)}


def learned():
    trained = TrainedRule.from_preset("general")
    return trained.rule, trained.meta_tensors()


def assert_loss_falls(problem, rule, meta, steps=60, factor=0.7):
    losses, final = losses_of(problem, rule, meta, steps)
    assert np.all(np.isfinite(losses))
    assert losses[-10:].mean() < factor * losses[:5].mean(), losses
    start = float(problem.eval_loss(problem.init_params(0), tf.constant(0, tf.int64)))
    end = float(problem.eval_loss(final, tf.constant(0, tf.int64)))
    assert end < factor * start
    return final


# --------------------------------------------------------------------------
# Names and loading.
# --------------------------------------------------------------------------


def test_names_parse():
    assert tfds_data.parse("tfds:mnist") == ("mnist", None)
    assert tfds_data.parse("tfds:mnist:test") == ("mnist", "test")
    assert tfds_data.parse("tfds:cifar10:train[:50%]") == ("cifar10", "train[:50%]")
    assert tfds_data.parse("tfds:emnist/letters:3.*.*:train[10:20]") == (
        "emnist/letters:3.*.*", "train[10:20]")
    assert tfds_data.parse("mnist:3.0.1") == ("mnist:3.0.1", None)
    assert tfds_data.is_tfds("tfds:mnist") and not tfds_data.is_tfds("mnist")
    for bad in ("tfds:", "tfds:mnist:train:test", "tfds:mnist:"):
        with pytest.raises(ValueError, match="tfds:NAME"):
            tfds_data.parse(bad)


def test_load_reads_a_prepared_directory(tfds_dir):
    data = tfds_data.load("tfds:tiny_stripes", data_dir=tfds_dir, download=False)
    assert (data.name, data.split, data.test_split) == ("tiny_stripes", "train", "test")
    assert data.image_shape == (SIDE, SIDE, 1) and data.num_classes == CLASSES
    assert data.num_examples == TRAIN
    x, y = next(iter(data.dataset().batch(TRAIN)))
    assert x.dtype == tf.float32 and y.dtype == tf.int32 and x.shape == (TRAIN, SIDE, SIDE, 1)
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    # The stored uint8 images divided by 255, labels as generated (in some order).
    images, labels = stripes(TRAIN, 0)
    assert sorted(np.round(x.numpy().sum(axis=(1, 2, 3)) * 255).astype(int)) == sorted(
        images.astype(int).sum(axis=(1, 2, 3)))
    assert np.bincount(y.numpy(), minlength=CLASSES).tolist() == np.bincount(labels).tolist()
    half = tfds_data.load("tiny_stripes:train[:50%]", data_dir=tfds_dir, download=False)
    assert half.num_examples == TRAIN // 2 and half.test_split == "test"
    flat_images, _ = next(iter(half.dataset(flatten=True).batch(4)))
    assert flat_images.shape == (4, SIDE * SIDE)
    with pytest.raises(tfds_data.UnknownSplitError, match="validation"):
        tfds_data.load("tiny_stripes:validation", data_dir=tfds_dir, download=False)
    resized = tfds_data.load("tiny_stripes", data_dir=tfds_dir, download=False, image_size=(4, 4))
    assert resized.image_shape == (4, 4, 1)
    assert next(iter(resized.dataset()))[0].shape == (4, 4, 1)


# --------------------------------------------------------------------------
# Problems by name: in memory, and streamed.
# --------------------------------------------------------------------------


def test_mlp_by_name_in_memory_learns_under_adam_and_the_learned_optimizer(tfds_dir):
    problem = get_problem("mlp/tfds:tiny_stripes/16/relu/b32", data_dir=tfds_dir)
    assert isinstance(problem, MLP) and problem.stream is None
    assert problem.name == "mlp/tfds:tiny_stripes/16/relu/b32"
    assert problem.shapes() == [(64, 16), (16,), (16, CLASSES), (CLASSES,)]
    assert problem.x_train.shape == (TRAIN, 64) and problem.x_test.shape == (TEST, 64)
    assert 0.0 <= float(tf.reduce_min(problem.x_train))
    assert float(tf.reduce_max(problem.x_train)) <= 1.0
    assert problem.eval_set == f"full tfds:tiny_stripes training split ({TRAIN} examples)"
    assert problem.full_batch_skip_reason is None
    x, y = problem.batch(3, 5)  # in memory: addressable by (seed, step)
    x_again, y_again = problem.batch(tf.constant(3, tf.int64), tf.constant(5))
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    assert x.shape == (32, 64) and y.dtype == tf.int32
    assert_loss_falls(problem, *adam())
    final = assert_loss_falls(problem, *learned(), steps=80)
    assert float(problem.test_metric(final, 0)) > 0.6  # chance is 1/3


def test_mlp_streams_a_large_dataset_without_reading_it_into_memory(tfds_dir, monkeypatch):
    monkeypatch.setattr(keras_problem, "MATERIALIZE_LIMIT_BYTES", 1000)
    monkeypatch.setattr(keras_problem, "EVAL_EXAMPLES", 100)
    reads = []
    original = keras_problem.read_examples

    def recording(dataset, batched, max_examples=None, **kwargs):
        reads.append(max_examples)
        return original(dataset, batched, max_examples, **kwargs)

    monkeypatch.setattr(keras_problem, "read_examples", recording)
    problem = get_problem("mlp/tfds:tiny_stripes/16/relu/b32", data_dir=tfds_dir)
    assert reads == [100]  # only the evaluation subset was read, never the training split
    assert problem.stream is not None and problem.x_train is None
    assert problem.x_eval.shape == (100, 64)
    assert problem.eval_set == (
        "the first 100 examples of the streamed tfds:tiny_stripes training split")
    assert "streamed" in problem.full_batch_skip_reason
    first = [problem.batch(0, 0) for _ in range(3)]
    for x, y in first:
        assert x.shape == (32, 64) and y.shape == (32,) and y.dtype == tf.int32
        assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    assert not np.array_equal(first[0][0], first[1][0])  # the next batch, whatever (seed, step)
    replay = get_problem("mlp/tfds:tiny_stripes/16/relu/b32", data_dir=tfds_dir)
    for (x, y), (x_again, y_again) in zip(first, [replay.batch(5, 9) for _ in range(3)]):
        np.testing.assert_array_equal(x, x_again)  # a fresh problem replays the stream
        np.testing.assert_array_equal(y, y_again)
    # The stream feeds compiled rollouts (a tf.while_loop) and meta-training unrolls.
    assert_loss_falls(problem, *adam())
    assert_loss_falls(problem, *learned(), steps=80)
    trainer = MetaTrainer(TrainedRule.from_preset("general"), problem, horizon=4, unroll=2,
                          validation_every=0)
    history = trainer.fit(2, verbose=0)
    assert np.all(np.isfinite(history["meta_loss"])) and sum(history["bad_steps"]) == 0


def test_mock_data_for_a_real_tfds_name(tmp_path):
    """`tfds.testing.mock_data`: random examples from mnist's feature spec, no files at all."""
    with tfds.testing.mock_data(num_examples=64):
        problem = get_problem("mlp/tfds:mnist/8/sigmoid/b16", data_dir=tmp_path)
        streamed = MLP("tfds:mnist", hidden=(8,), batch_size=16, data_dir=tmp_path, stream=True)
    assert problem.x_train.shape == (64, 784) and problem.num_classes == 10
    assert problem.shapes()[-1] == (10,) and problem.x_test.shape == (64, 784)
    assert 0.0 <= float(tf.reduce_min(problem.x_train))
    assert float(tf.reduce_max(problem.x_train)) <= 1.0
    assert float(tf.reduce_max(problem.x_train)) > 0.5  # scaled from uint8, not all zero
    params = problem.init_params(0)
    assert 0.0 <= float(problem.test_metric(params, 0)) <= 1.0
    assert streamed.stream is not None
    x, y = streamed.batch(0, 0)
    assert x.shape == (16, 784) and int(tf.reduce_max(y)) < 10


# --------------------------------------------------------------------------
# KerasProblem: from TFDS, and from any tf.data.Dataset.
# --------------------------------------------------------------------------


def test_keras_problem_from_tfds_learns(tfds_dir):
    problem = KerasProblem.from_tfds(small_model(), LOGITS, "tiny_stripes", data_dir=tfds_dir,
                                     batch_size=32, download=False)
    assert problem.stream is None and problem.name == "tfds:tiny_stripes"
    assert problem.x_train.shape == (TRAIN, SIDE, SIDE, 1)
    assert problem.test_data[0].shape == (TEST, SIDE, SIDE, 1)
    assert problem.test_metric_name == "test_accuracy" and problem.tfds.num_classes == CLASSES
    assert_loss_falls(problem, *adam())
    final = assert_loss_falls(problem, *learned(), steps=80)
    assert float(problem.test_metric(final, 0)) > 0.6


def test_keras_problem_from_tfds_streams_when_large(tfds_dir, monkeypatch):
    monkeypatch.setattr(keras_problem, "MATERIALIZE_LIMIT_BYTES", 1000)
    problem = KerasProblem.from_tfds(small_model(flat_inputs=True), LOGITS, "tiny_stripes",
                                     data_dir=tfds_dir, batch_size=32, flatten=True)
    assert problem.stream is not None and problem.x_train is None
    x, y, key = problem.batch(0, 0)
    assert x.shape == (32, SIDE * SIDE) and key.dtype == tf.int64
    assert_loss_falls(problem, *adam())


def test_keras_problem_streams_a_dataset(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0).astype(np.int32)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh"),
                              keras.layers.Dense(3)])
    examples = tf.data.Dataset.from_tensor_slices((x, y))

    # Small and finite: read into memory, whether batched or single examples.
    for dataset in (examples.batch(10), examples):
        in_memory = KerasProblem(model, LOGITS, dataset, batch_size=32)
        assert in_memory.stream is None
        np.testing.assert_array_equal(in_memory.x_train.numpy(), x)

    # Infinite: streamed, the examples shuffled and batched at batch_size.
    infinite = KerasProblem(model, LOGITS, examples.repeat(), batch_size=32)
    assert infinite.stream is not None
    assert infinite.x_eval.shape == (keras_problem.EVAL_EXAMPLES, 6)
    assert infinite.batch(0, 0)[0].shape == (32, 6)
    assert_loss_falls(infinite, *adam(0.03), steps=80)

    # stream=True, and batch_size=None: the dataset's own batches, as they come.
    own = KerasProblem(model, LOGITS, examples.batch(20, drop_remainder=True), batch_size=None)
    assert own.stream is not None and own.x_eval.shape == (240, 6)
    batches = [own.batch(0, t)[0].numpy() for t in range(13)]
    np.testing.assert_array_equal(batches[0], x[:20])  # unshuffled, in order, then repeated
    np.testing.assert_array_equal(batches[12], x[:20])
    forced = KerasProblem(model, LOGITS, examples.batch(10), batch_size=32, stream=True,
                          test_data=examples.batch(64))
    assert forced.stream is not None and forced.test_data[0].shape == (256, 6)
    assert_loss_falls(forced, *adam(0.03), steps=80)

    with pytest.raises(ValueError, match="infinite"):
        KerasProblem(model, LOGITS, examples.repeat(), stream=False)
    with pytest.raises(ValueError, match="batch_size"):
        KerasProblem(model, LOGITS, examples, batch_size=None, batched=False)
    with pytest.raises(ValueError, match=r"\(x, y\) pairs"):
        KerasProblem(model, LOGITS, tf.data.Dataset.from_tensor_slices((x, y, y)).batch(4))


# --------------------------------------------------------------------------
# Clear errors, no download.
# --------------------------------------------------------------------------


def test_unknown_dataset_names_the_problem_and_the_fix(tfds_dir):
    with pytest.raises(tfds_data.UnknownDatasetError) as info:
        get_problem("mlp/tfds:tiny_stripez/16/relu/b32", data_dir=tfds_dir)
    message = str(info.value)
    assert "Problem 'mlp/tfds:tiny_stripez/16/relu/b32'" in message
    assert "tiny_stripes" in message and "tfds.list_builders()" in message
    with pytest.raises(ValueError, match="is spelled"):
        get_problem("mlp/tfds:mnist/16/relu", data_dir=tfds_dir)


def test_a_dataset_without_images_is_refused(tfds_dir):
    with pytest.raises(tfds_data.NotImageClassificationError) as info:
        get_problem("mlp/tfds:tiny_table/16/relu/b32", data_dir=tfds_dir)
    message = str(info.value)
    assert "not an image-classification dataset" in message
    assert "Image" in message and "ClassLabel" in message and "features: Tensor" in message


def test_a_dataset_not_prepared_says_how_to_prepare_it(tmp_path):
    with pytest.raises(tfds_data.DatasetNotPreparedError) as info:
        get_problem("tfds:mnist", data_dir=tmp_path)  # a data directory: no download
    message = str(info.value)
    assert "Problem 'tfds:mnist'" in message and str(tmp_path) in message
    assert "tfds build mnist --data_dir DIR" in message
    with pytest.raises(tfds_data.DatasetNotPreparedError):
        tfds_data.load("mnist", data_dir=tmp_path, download=False)
