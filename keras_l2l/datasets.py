"""Image datasets for the optimizee problems: MNIST, Fashion-MNIST, CIFAR-10.

Every loader returns ``(x_train, y_train), (x_test, y_test)`` as uint8 numpy
arrays: images ``(N, 28, 28)`` for the MNISTs and ``(N, 32, 32, 3)`` (NHWC) for
CIFAR-10, labels 1-D with values 0..9.

The data directory is chosen in this order, so that offline machines (CI,
clusters) never reach for the network while online users (e.g. Colab) need no
setup:

1. the ``data_dir`` argument;
2. the ``KERAS_L2L_DATA_DIR`` environment variable;
3. a download through ``keras.datasets.<name>.load_data()``;
4. for MNIST only, when the download fails: the small real MNIST subset shipped in
   the package (``keras_l2l/data/mnist_subset.npz``, 4,000 training + 1,000 test
   images, see its ATTRIBUTION.md), with a warning saying so.

The embedded subset can also be asked for: ``load_mnist(data_dir="embedded")``
(or ``KERAS_L2L_DATA_DIR=embedded``) or :func:`load_embedded_mnist`. Which source a
load used is recorded: :func:`last_source` (or ``load_mnist(..., with_source=True)``).

A local directory holds the files listed in :data:`EXPECTED_FILES`. They are
read with numpy directly rather than handed to Keras, because Keras checks the
archive's sha256 and would try to download again for a re-packed but identical
``mnist.npz``.
"""

import gzip
import os
import pickle
import warnings
from pathlib import Path

import numpy as np

ENV_VAR = "KERAS_L2L_DATA_DIR"

#: The ``data_dir`` value (or ``KERAS_L2L_DATA_DIR`` value) that asks for the embedded subset.
EMBEDDED = "embedded"

#: The MNIST subset shipped in the package (see keras_l2l/data/ATTRIBUTION.md).
EMBEDDED_MNIST = Path(__file__).resolve().parent / "data" / "mnist_subset.npz"

#: How the subset was cut (`cut_mnist_subset`): images per digit and the numpy seed.
SUBSET_TRAIN_PER_CLASS, SUBSET_TEST_PER_CLASS, SUBSET_SEED = 400, 100, 0

#: `kind` values of a source record: a local directory, a Keras download, the embedded subset.
SOURCE_KINDS = ("data_dir", "download", "embedded")

_LAST_SOURCE = {}

_FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_CIFAR_BATCH_DIRS = (
    "cifar-10-batches-py",  # the extracted tarball, and older Keras caches
    os.path.join("cifar-10-batches-py-target", "cifar-10-batches-py"),  # Keras 3
)
_CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)

#: Files looked for in a local data directory, per dataset; any one of the
#: alternatives listed for CIFAR-10 is enough (the full set is preferred).
EXPECTED_FILES = {
    "mnist": ["mnist.npz"],
    "fashion_mnist": [f"fashion-mnist/{f}" for f in _FASHION_FILES],
    "cifar10": [
        "cifar10.npz",
        "cifar-10-batches-py/ (Keras cache layout)",
        "cifar10_subset.npz",
    ],
}

_ALIASES = {"fashion-mnist": "fashion_mnist"}


def default_data_dir():
    """The directory named by ``KERAS_L2L_DATA_DIR``, or None if unset/empty."""
    value = os.environ.get(ENV_VAR, "")
    return Path(value).expanduser() if value else None


def _resolve_dir(data_dir):
    """The explicit argument wins over the environment; None means download."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    return default_data_dir()


def _missing(name, directory):
    """One message for every missing-file case, so users know what to provide."""
    files = ", ".join(EXPECTED_FILES[name])
    return FileNotFoundError(
        f"{name}: none of the expected files were found in data directory "
        f"'{directory}'. Expected: {files}. Pass data_dir= or set {ENV_VAR} "
        f"to a directory that contains them."
    )


def _download(name):
    """Online fallback through Keras; turns network errors into a clear hint."""
    try:
        import keras

        loader = getattr(keras.datasets, name).load_data
        return loader()
    except Exception as exc:  # Keras raises bare Exception on fetch failures
        files = ", ".join(EXPECTED_FILES[name])
        raise RuntimeError(
            f"{name}: no local data directory was given and the download via "
            f"keras.datasets.{name}.load_data() failed ({exc!r}). If this "
            f"machine is offline, set {ENV_VAR} or pass data_dir= pointing to "
            f"a directory with the expected files: {files}."
        ) from exc


def _load_npz(path):
    """Read the four Keras-layout arrays; pickles are refused (data only)."""
    with np.load(path, allow_pickle=False) as f:
        keys = ("x_train", "y_train", "x_test", "y_test")
        missing = [k for k in keys if k not in f.files]
        if missing:
            raise ValueError(f"{path} lacks the arrays {missing}")
        return tuple(f[k] for k in keys)


def _read_idx(path):
    """Decode a gzipped IDX file using its own header for dtype and shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:3] != b"\x00\x00\x08":  # two zero bytes, then 0x08 = unsigned byte
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(np.frombuffer(raw, ">i4", count=ndim, offset=4))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


class _ArrayUnpickler(pickle.Unpickler):
    """Allows only numpy array reconstruction, so a tampered file cannot run code."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_batch(path):
    """One pickled CIFAR batch -> (NHWC images, labels)."""
    with open(path, "rb") as f:
        batch = _ArrayUnpickler(f, encoding="bytes").load()
    batch = {(k.decode() if isinstance(k, bytes) else k): v for k, v in batch.items()}
    x = np.asarray(batch["data"], np.uint8).reshape(-1, 3, 32, 32)
    return x.transpose(0, 2, 3, 1), np.asarray(batch["labels"])


def _read_cifar_batches(directory):
    """The Keras cache layout: five training batches and one test batch.

    These are Python pickles; they are read with an unpickler restricted to
    numpy arrays, the same way Keras' own ``cifar10.load_data`` reads them.
    """
    parts = [_read_cifar_batch(directory / b) for b in _CIFAR_BATCHES]
    x_train = np.concatenate([x for x, _ in parts[:-1]])
    y_train = np.concatenate([y for _, y in parts[:-1]])
    return x_train, y_train, parts[-1][0], parts[-1][1]


def _finish(x_train, y_train, x_test, y_test, channels_last=False):
    """Normalise dtype and layout whatever the source."""
    out = []
    for x, y in ((x_train, y_train), (x_test, y_test)):
        x = np.asarray(x)
        if channels_last and x.ndim == 4 and x.shape[1] == 3 and x.shape[-1] != 3:
            x = x.transpose(0, 2, 3, 1)  # Keras with image_data_format="channels_first"
        y = np.asarray(y).astype(np.uint8, copy=False).reshape(-1)
        out.append((x.astype(np.uint8, copy=False), y))
    return tuple(out)


def last_source(name):
    """Where the most recent successful load of dataset `name` came from, or None.

    A dict: ``{"kind": "data_dir" | "download" | "embedded", "path", "description"}``
    (``path`` None for a download), so callers such as the demo can say which data
    they ran on.
    """
    record = _LAST_SOURCE.get(_ALIASES.get(name, name))
    return None if record is None else dict(record)


def _record(name, kind, path, description):
    _LAST_SOURCE[name] = {"kind": kind, "path": None if path is None else str(path),
                          "description": description}
    return last_source(name)


def _counts(splits):
    return f"{len(splits[0][1]):,} training + {len(splits[1][1]):,} test images"


def _is_embedded(data_dir):
    return data_dir is not None and str(data_dir) == EMBEDDED


def load_embedded_mnist(with_source=False):
    """The real MNIST subset shipped in the package: 4,000 training + 1,000 test images.

    400 training images per digit from MNIST's training split, 100 test images per
    digit from its test split (MNIST by Yann LeCun, Corinna Cortes and Christopher
    J.C. Burges, CC BY-SA 3.0; see keras_l2l/data/ATTRIBUTION.md for how it was cut).
    Returns ``(x_train, y_train), (x_test, y_test)`` like :func:`load_mnist`; with
    `with_source`, ``(splits, source)`` (see :func:`last_source`).
    """
    splits = _finish(*_load_npz(EMBEDDED_MNIST))
    source = _record("mnist", "embedded", EMBEDDED_MNIST,
                     f"the MNIST subset embedded in keras_l2l, not full MNIST: "
                     f"{EMBEDDED_MNIST.name} ({_counts(splits)})")
    return (splits, source) if with_source else splits


def cut_mnist_subset(x_train, y_train, x_test, y_test, train_per_class=SUBSET_TRAIN_PER_CLASS,
                     test_per_class=SUBSET_TEST_PER_CLASS, seed=SUBSET_SEED):
    """The embedded subset's arrays (a dict of uint8 arrays) cut from full MNIST splits.

    `train_per_class` images of each digit from the training split and
    `test_per_class` from the test split, drawn uniformly without replacement by
    ``numpy.random.default_rng(seed)`` and shuffled by the same generator.
    ``benchmarks/make_mnist_subset.py`` writes them to :data:`EMBEDDED_MNIST`.
    """
    rng = np.random.default_rng(seed)

    def pick(labels, per_class):
        labels = np.asarray(labels).reshape(-1)
        chosen = [np.sort(rng.choice(np.flatnonzero(labels == c), per_class, replace=False))
                  for c in range(10)]
        return rng.permutation(np.concatenate(chosen))

    train, test = pick(y_train, train_per_class), pick(y_test, test_per_class)
    return {
        "x_train": np.asarray(x_train, np.uint8)[train],
        "y_train": np.asarray(y_train, np.uint8).reshape(-1)[train],
        "x_test": np.asarray(x_test, np.uint8)[test],
        "y_test": np.asarray(y_test, np.uint8).reshape(-1)[test],
    }


def load_mnist(data_dir=None, with_source=False):
    """MNIST from ``<data_dir>/mnist.npz`` (Keras layout), else download, else the subset.

    Order: `data_dir`, then ``KERAS_L2L_DATA_DIR``, then a download through Keras; only
    when that download fails, the embedded 4,000 + 1,000 image subset
    (:func:`load_embedded_mnist`), with a warning. A missing file in a given
    directory is an error, not a fallback. ``data_dir="embedded"`` asks for the subset.
    With `with_source`, returns ``(splits, source)``; see :func:`last_source`.
    """
    if _is_embedded(data_dir) or (data_dir is None and _is_embedded(os.environ.get(ENV_VAR))):
        return load_embedded_mnist(with_source)
    directory = _resolve_dir(data_dir)
    if directory is None:
        try:
            downloaded = _download("mnist")
        except RuntimeError as error:
            warnings.warn(
                f"{error}\nUsing instead the small real MNIST subset embedded in keras_l2l "
                f"({EMBEDDED_MNIST.name}: 4,000 training + 1,000 test images, not the full "
                "60,000 + 10,000); results on it differ from full MNIST.",
                UserWarning, stacklevel=2,
            )
            return load_embedded_mnist(with_source)
        splits = _finish(*(a for pair in downloaded for a in pair))
        source = _record("mnist", "download", None,
                         f"MNIST downloaded through keras.datasets.mnist.load_data() "
                         f"({_counts(splits)})")
    else:
        path = directory / "mnist.npz"
        if not path.is_file():
            raise _missing("mnist", directory)
        splits = _finish(*_load_npz(path))
        source = _record("mnist", "data_dir", path,
                         f"MNIST from the data directory: {path} ({_counts(splits)})")
    return (splits, source) if with_source else splits


def load_fashion_mnist(data_dir=None):
    """Fashion-MNIST from the four IDX ``.gz`` files, else download.

    They are looked for in ``<data_dir>/fashion-mnist/`` (the layout Keras uses
    in its cache) and, failing that, directly in ``<data_dir>``.
    """
    directory = _resolve_dir(data_dir)
    if directory is None:
        return _finish(*(a for pair in _download("fashion_mnist") for a in pair))
    for sub in (directory / "fashion-mnist", directory):
        paths = [sub / f for f in _FASHION_FILES]
        if all(p.is_file() for p in paths):
            return _finish(*(_read_idx(p) for p in paths))
    raise _missing("fashion_mnist", directory)


def load_cifar10(data_dir=None):
    """CIFAR-10 from a local directory, else download.

    Sources, best first: ``cifar10.npz`` (full set, Keras key layout), the Keras
    cache's pickled ``cifar-10-batches-py/`` batches, ``cifar10_subset.npz``
    (6,000 + 1,000 images, enough for optimizer benchmarks).
    """
    directory = _resolve_dir(data_dir)
    if directory is None:
        arrays = (a for pair in _download("cifar10") for a in pair)
        return _finish(*arrays, channels_last=True)
    if (directory / "cifar10.npz").is_file():
        return _finish(*_load_npz(directory / "cifar10.npz"), channels_last=True)
    for sub in _CIFAR_BATCH_DIRS:
        if (directory / sub).is_dir():
            return _finish(*_read_cifar_batches(directory / sub))
    if (directory / "cifar10_subset.npz").is_file():
        subset = _load_npz(directory / "cifar10_subset.npz")
        return _finish(*subset, channels_last=True)
    raise _missing("cifar10", directory)


_LOADERS = {
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
}


def load(name, data_dir=None):
    """Load a dataset by name, so problems and configs can refer to it as a string."""
    key = _ALIASES.get(name, name)
    if key not in _LOADERS:
        valid = ", ".join(sorted(_LOADERS) + sorted(_ALIASES))
        raise ValueError(f"unknown dataset {name!r}; valid names: {valid}")
    return _LOADERS[key](data_dir)
