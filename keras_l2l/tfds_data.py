"""Image-classification datasets from TensorFlow Datasets (TFDS), by name.

Any TFDS dataset with an ``Image`` feature and a ``ClassLabel`` feature (mnist,
fashion_mnist, cifar10, cifar100, emnist/letters, svhn_cropped, ...) can be
the data of a problem::

    get_problem("mlp/tfds:cifar100/64/relu/b128")          # an MLP, by name
    MLP("tfds:emnist/letters:train[:50%]", hidden=(64,))
    KerasProblem.from_tfds(model, loss, "svhn_cropped")     # any Keras model

A dataset is spelled ``tfds:NAME[:SPLIT]``: NAME as ``tfds.load`` takes it
(``name``, ``name/config``, ``name:1.2.3``), SPLIT the training split (default
``train``; TFDS slicing such as ``train[:10%]`` works). Images come as float32
in [0, 1] (integers divided by their dtype's maximum), labels as int32; the
``test`` split, when there is one, gives the test metric.

The data are read with ``tfds`` from a *prepared* TFDS data directory (the
layout ``DIR/<name>/<version>/`` that ``tfds build`` or ``tfds.load`` writes).
The directory is, first where the dataset is prepared:

1. the ``data_dir`` argument, else ``KERAS_L2L_DATA_DIR`` (the same directory
   as the ``keras.datasets`` files), or its ``tensorflow_datasets/`` folder;
2. TFDS' own default (``TFDS_DATA_DIR``, else ``~/tensorflow_datasets``).

If it is prepared in none of them it is downloaded and prepared by TFDS only
when no data directory was given (the online default, as for
``keras.datasets``) or ``download=True``; otherwise a
:class:`DatasetNotPreparedError` says how to prepare it
(``tfds build NAME --data_dir DIR`` on a machine with network, then copy DIR).

Nothing here holds a whole dataset in memory: :meth:`TFDSImages.dataset` is a
``tf.data`` pipeline over the TFDS record files (TFDS' auto-caching is off);
whether a problem copies it into memory or streams it is the problem's choice
(see ``KerasProblem``: above ``MATERIALIZE_LIMIT_BYTES`` it streams).
``tensorflow_datasets`` is imported only when a TFDS dataset is used
(``pip install keras_l2l[tfds]``).
"""

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from keras_l2l import datasets

PREFIX = "tfds:"
SPELLING = "tfds:NAME[:SPLIT]"
_VERSION = re.compile(r"^\d+\.(\d+|\*)\.(\d+|\*)$")


class TFDSDataError(Exception):
    """Base of the errors below; the registry prefixes them with the problem's name."""


class UnknownDatasetError(TFDSDataError, ValueError):
    """No TFDS dataset has this name."""


class NotImageClassificationError(TFDSDataError, ValueError):
    """The dataset has no image feature with a class label (or images of varying size)."""


class UnknownSplitError(TFDSDataError, ValueError):
    """The dataset has no such split."""


class DatasetNotPreparedError(TFDSDataError, FileNotFoundError):
    """The dataset is not prepared in any data directory, and downloading is off or failed."""


def is_tfds(dataset):
    """Whether a dataset name selects a TFDS dataset (``tfds:...``)."""
    return isinstance(dataset, str) and dataset.startswith(PREFIX)


def parse(spec):
    """``"tfds:NAME[:VERSION][:SPLIT]"`` (the prefix is optional) -> ``(name, split or None)``.

    Colons inside a split's brackets (``train[:10%]``) belong to the split.
    """
    body = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    parts, depth, current = [], 0, ""
    for char in body:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    name, rest = parts[0], parts[1:]
    if rest and _VERSION.match(rest[0]):
        name += ":" + rest.pop(0)
    if not name or len(rest) > 1 or (rest and not rest[0]):
        raise ValueError(
            f"A TFDS dataset is spelled {SPELLING} (e.g. tfds:mnist, tfds:cifar10:train[:50%], "
            f"tfds:emnist/letters), got {spec!r}."
        )
    return name, (rest[0] if rest else None)


def _tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError as exc:  # pragma: no cover - the extra is in setup.cfg
        raise ImportError(
            "TFDS datasets need tensorflow-datasets: pip install 'keras_l2l[tfds]'."
        ) from exc
    return tfds


def _candidate_dirs(data_dir):
    """Data directories to search, best first; None is TFDS' own default."""
    configured = datasets.default_data_dir() if data_dir is None else data_dir
    if configured is None:
        return [None]
    configured = str(configured)
    return [configured, f"{configured.rstrip('/')}/tensorflow_datasets", None]


def _builder(name, data_dir, download):
    """`(builder, prepared, searched)`: the TFDS builder of the first directory where `name`
    is prepared (else of the first directory), and the directories searched."""
    tfds = _tfds()
    candidates = _candidate_dirs(data_dir)
    builders = []
    for directory in candidates:
        try:
            builder = tfds.builder(name, data_dir=directory)
        except tfds.core.registered.DatasetNotFoundError:
            continue  # perhaps a dataset known only from its files, in another directory
        except ValueError as exc:  # e.g. an unknown config or version
            raise UnknownDatasetError(f"TFDS cannot build {name!r}: {exc}") from None
        if builder.is_prepared():
            return builder, True, None
        builders.append(builder)
    if not builders:
        known = tfds.list_builders()
        close = difflib.get_close_matches(name.split("/")[0].split(":")[0], known, n=5)
        hint = f" Close names: {', '.join(close)}." if close else ""
        raise UnknownDatasetError(
            f"TFDS has no dataset {name!r}.{hint} `tfds.list_builders()` lists them all; "
            f"a dataset is spelled {SPELLING}."
        ) from None
    allowed = download if download is not None else candidates == [None]
    builder = builders[0]
    searched = list(dict.fromkeys(str(b.data_dir_root) for b in builders))
    if allowed:
        try:
            builder.download_and_prepare()
        except Exception as exc:  # network errors come in many types
            raise DatasetNotPreparedError(
                f"TFDS dataset {name!r} is not prepared and downloading it into "
                f"{builder.data_dir_root} failed ({exc!r}). If this machine is offline, run "
                f"`tfds build {name} --data_dir DIR` on one with network, copy DIR here and "
                f"pass data_dir=DIR (or set {datasets.ENV_VAR}=DIR)."
            ) from exc
        return builder, True, searched
    return builder, False, searched


def _not_prepared(name, searched):
    return DatasetNotPreparedError(
        f"TFDS dataset {name!r} is not prepared in {', '.join(searched)}, and downloading is "
        f"off (a data directory was given, or download=False). Prepare it with "
        f"`tfds build {name} --data_dir DIR` (on a machine with network; copy DIR here if "
        f"this one is offline) and pass data_dir=DIR or set {datasets.ENV_VAR}=DIR, or pass "
        f"download=True."
    )


def _features_summary(features):
    items = features.items() if hasattr(features, "items") else [("", features)]
    return ", ".join(f"{key or '<root>'}: {type(f).__name__}" for key, f in items) or "none"


def _image_and_label(name, info):
    """`(image_key, label_key, as_supervised)` of an image-classification dataset."""
    tfds = _tfds()
    features = info.features
    Image, ClassLabel = tfds.features.Image, tfds.features.ClassLabel
    is_dict = hasattr(features, "items")

    def kind(key, cls):
        return is_dict and isinstance(key, str) and key in features and isinstance(
            features[key], cls
        )

    keys = info.supervised_keys
    if keys and len(keys) == 2 and kind(keys[0], Image) and kind(keys[1], ClassLabel):
        return keys[0], keys[1], True
    images = [k for k, f in features.items() if isinstance(f, Image)] if is_dict else []
    labels = [k for k, f in features.items() if isinstance(f, ClassLabel)] if is_dict else []
    image = "image" if "image" in images else (images[0] if len(images) == 1 else None)
    label = "label" if "label" in labels else (labels[0] if len(labels) == 1 else None)
    if image is None or label is None:
        raise NotImageClassificationError(
            f"TFDS dataset {name!r} is not an image-classification dataset: keras_l2l needs "
            f"one Image feature and one ClassLabel feature, it has {_features_summary(features)}. "
            f"Pick one that has them (e.g. mnist, fashion_mnist, cifar10, cifar100, "
            f"svhn_cropped), or build a KerasProblem from your own tf.data.Dataset of (x, y)."
        )
    return image, label, False


def _test_split(builder, split, supervised):
    """`"test"` when the dataset has it and the training split does not use it, else None."""
    if "test" in split:
        return None
    known = list(builder.info.splits)
    if known:
        return "test" if "test" in known else None
    try:  # split metadata unknown (e.g. under tfds.testing.mock_data): ask for the split
        builder.as_dataset(split="test", as_supervised=supervised)
    except Exception:  # noqa: BLE001 - no such split, whatever TFDS raises
        return None
    return "test"


@dataclass
class TFDSImages:
    """A TFDS image-classification dataset, ready to read as ``tf.data`` pipelines.

    ``image_shape`` is the shape of one image as :meth:`dataset` yields it
    (``(H, W, C)``, after ``image_size``); ``num_examples`` the size of the
    training split (None if TFDS does not know it); ``test_split`` the split of
    the test metric (None without one).
    """

    name: str
    split: str
    test_split: Any
    builder: Any
    image_key: str
    label_key: str
    supervised: bool
    image_shape: tuple
    num_classes: int
    num_examples: Any
    image_size: Any = None

    @property
    def info(self):
        return self.builder.info

    @property
    def example_bytes(self):
        """Bytes of one (float32 image, int32 label) example."""
        return 4 * math.prod(self.image_shape) + 4

    def dataset(self, split=None, shuffle_files=False, seed=0, flatten=False):
        """Unbatched ``(image float32 in [0, 1], label int32)`` of `split` (default: training).

        `shuffle_files` reads the record files in an order drawn from `seed`
        (deterministic); `flatten` makes each image a vector (for MLPs).
        """
        tfds = _tfds()
        config = tfds.ReadConfig(shuffle_seed=int(seed), try_autocache=False)
        ds = self.builder.as_dataset(
            split=split or self.split,
            shuffle_files=shuffle_files,
            as_supervised=self.supervised,
            read_config=config,
        )
        if not self.supervised:
            image_key, label_key = self.image_key, self.label_key
            ds = ds.map(lambda example: (example[image_key], example[label_key]))
        feature = self.info.features[self.image_key]
        dtype = tf.as_dtype(feature.dtype)
        scale = float(dtype.max) if dtype.is_integer else 1.0
        size = self.image_size

        def prepare(image, label):
            image = tf.cast(image, tf.float32)
            if size is not None:
                image = tf.image.resize(image, size)
            image = image / scale
            if flatten:
                image = tf.reshape(image, [-1])
            return image, tf.cast(label, tf.int32)

        return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)


def load(name, split=None, data_dir=None, download=None, image_size=None):
    """The TFDS image-classification dataset `name` (``mnist`` or ``tfds:mnist[:SPLIT]``).

    `split` overrides the one in the name (default ``train``); `data_dir`,
    `download`: see the module docstring; `image_size` ``(height, width)``
    resizes the images (needed when their size varies). Raises
    :class:`UnknownDatasetError`, :class:`NotImageClassificationError` or
    :class:`DatasetNotPreparedError` with the fix in the message.
    """
    name, named_split = parse(name)
    split = split or named_split or "train"
    builder, prepared, searched = _builder(name, data_dir, download)
    image_key, label_key, supervised = _image_and_label(name, builder.info)
    try:  # also the check that the data are there (TFDS asserts it)
        probe = builder.as_dataset(split=split, as_supervised=supervised)
    except AssertionError as exc:
        if not prepared:
            raise _not_prepared(name, searched) from exc
        raise
    except ValueError as exc:
        known = list(builder.info.splits) or "see the dataset's page"
        raise UnknownSplitError(
            f"TFDS dataset {name!r} has no split {split!r} ({exc}); splits: {known}."
        ) from exc
    shape = tuple(builder.info.features[image_key].shape)
    if image_size is not None:
        shape = (int(image_size[0]), int(image_size[1]), *shape[2:])
    if any(d is None for d in shape):
        raise NotImageClassificationError(
            f"TFDS dataset {name!r} has images of varying size {shape}; pass "
            f"image_size=(height, width) to resize them (MLP(..., image_size=...), "
            f"KerasProblem.from_tfds(..., image_size=...))."
        )
    count = int(probe.cardinality())
    if count < 0:
        try:
            count = int(builder.info.splits[split].num_examples)
        except Exception:  # noqa: BLE001 - unknown split metadata
            count = None
    return TFDSImages(
        name=name,
        split=split,
        test_split=_test_split(builder, split, supervised),
        builder=builder,
        image_key=image_key,
        label_key=label_key,
        supervised=supervised,
        image_shape=shape,
        num_classes=int(builder.info.features[label_key].num_classes),
        num_examples=count,
        image_size=None if image_size is None else tuple(int(s) for s in image_size),
    )
