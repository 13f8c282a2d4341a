import gzip
import os
import pickle

import numpy as np
import pytest

from keras_l2l import datasets
from keras_l2l.datasets import (
    EXPECTED_FILES,
    default_data_dir,
    load,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
)

ENV = "KERAS_L2L_DATA_DIR"

# Canonical MNIST training label counts (LeCun et al.), digits 0..9.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def check_split(split, n_train, n_test, image_shape):
    (x_train, y_train), (x_test, y_test) = split
    assert x_train.shape == (n_train, *image_shape)
    assert x_test.shape == (n_test, *image_shape)
    assert y_train.shape == (n_train,)
    assert y_test.shape == (n_test,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    for y in (y_train, y_test):
        assert y.min() == 0 and y.max() == 9
        assert len(np.unique(y)) == 10
    assert x_train.max() == 255 and x_train.min() == 0


# --- real data from the shared directory -----------------------------------


@pytest.fixture(scope="module")
def mnist(data_dir):
    return load_mnist(data_dir)


@pytest.fixture(scope="module")
def fashion(data_dir):
    return load_fashion_mnist(data_dir)


@pytest.fixture(scope="module")
def cifar(data_dir):
    return load_cifar10(data_dir)


def test_mnist_real(mnist):
    check_split(mnist, 60000, 10000, (28, 28))
    counts = np.bincount(mnist[0][1], minlength=10)
    assert counts.tolist() == MNIST_TRAIN_COUNTS


def test_fashion_mnist_real(fashion):
    check_split(fashion, 60000, 10000, (28, 28))
    # Fashion-MNIST is exactly balanced.
    assert np.bincount(fashion[0][1]).tolist() == [6000] * 10
    assert np.bincount(fashion[1][1]).tolist() == [1000] * 10


def test_fashion_mnist_differs_from_mnist(mnist, fashion):
    assert not np.array_equal(mnist[0][0][:100], fashion[0][0][:100])


def test_cifar10_subset_real(cifar):
    check_split(cifar, 6000, 1000, (32, 32, 3))
    assert np.bincount(cifar[0][1]).tolist() == [600] * 10
    assert np.bincount(cifar[1][1]).tolist() == [100] * 10


def test_load_dispatch_matches_loader(data_dir, mnist):
    (x_train, y_train), (x_test, y_test) = load("mnist", data_dir)
    np.testing.assert_array_equal(y_train, mnist[0][1])
    np.testing.assert_array_equal(x_test, mnist[1][0])


# --- synthetic files in tmp dirs (fast, exercise every code path) ----------


def write_npz(path, n_train=4, n_test=2, image_shape=(28, 28), label_shape=()):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        arrays[f"x_{split}"] = rng.integers(0, 256, (n, *image_shape), np.uint8)
        arrays[f"y_{split}"] = (np.arange(n) % 10).astype(np.uint8).reshape(
            (n, *label_shape)
        )
    np.savez(path, **arrays)
    return arrays


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    assert default_data_dir() is None
    monkeypatch.setenv(ENV, "")
    assert default_data_dir() is None
    monkeypatch.setenv(ENV, str(tmp_path))
    assert default_data_dir() == tmp_path


def test_env_var_is_used(monkeypatch, tmp_path):
    arrays = write_npz(tmp_path / "mnist.npz")
    monkeypatch.setenv(ENV, str(tmp_path))
    (x_train, y_train), (x_test, y_test) = load_mnist()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])


def test_argument_overrides_env_var(monkeypatch, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_npz(tmp_path / "a" / "mnist.npz", n_train=3)
    write_npz(tmp_path / "b" / "mnist.npz", n_train=5)
    monkeypatch.setenv(ENV, str(tmp_path / "a"))
    (x_train, _), _ = load("mnist", data_dir=tmp_path / "b")
    assert len(x_train) == 5


def test_env_var_pointing_at_shared_data(monkeypatch, data_dir):
    monkeypatch.setenv(ENV, str(data_dir))
    (x_train, y_train), (x_test, y_test) = load("cifar10")
    assert x_train.shape == (6000, 32, 32, 3) and y_test.shape == (1000,)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_missing_files_raise_file_not_found(tmp_path, name):
    with pytest.raises(FileNotFoundError) as info:
        load(name, data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert ENV in message
    for fname in EXPECTED_FILES[name]:
        assert fname in message


def test_missing_file_via_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        load_mnist()


def test_fashion_mnist_idx_files(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, 28, 28), np.uint8)
    labels = np.array([7, 0, 9], np.uint8)
    sub = tmp_path / "fashion-mnist"
    sub.mkdir()
    for prefix in ("train", "t10k"):
        write_idx(sub / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(sub / f"{prefix}-labels-idx1-ubyte.gz", labels)
    for name in ("fashion_mnist", "fashion-mnist"):
        (x_train, y_train), (x_test, y_test) = load(name, data_dir=tmp_path)
        np.testing.assert_array_equal(x_train, images)
        np.testing.assert_array_equal(y_test, labels)
    # The four files directly in the directory are accepted too.
    (x_train, _), _ = load_fashion_mnist(sub)
    np.testing.assert_array_equal(x_train, images)


def test_full_cifar10_npz_labels_are_flattened(tmp_path):
    arrays = write_npz(
        tmp_path / "cifar10.npz", image_shape=(32, 32, 3), label_shape=(1,)
    )
    write_npz(tmp_path / "cifar10_subset.npz", n_train=7, image_shape=(32, 32, 3))
    (x_train, y_train), (x_test, y_test) = load_cifar10(tmp_path)
    assert x_train.shape == (4, 32, 32, 3)  # the full set wins over the subset
    assert y_train.shape == (4,) and y_test.shape == (2,)
    np.testing.assert_array_equal(y_train, arrays["y_train"].ravel())


def test_cifar10_pickled_batches(tmp_path):
    batch_dir = tmp_path / "cifar-10-batches-py"
    batch_dir.mkdir()
    rng = np.random.default_rng(2)
    expected = {}
    for i, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (2, 3 * 32 * 32), np.uint8)
        labels = [i % 10, (i + 1) % 10]
        expected[name] = (data, labels)
        with open(batch_dir / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels}, f)
    (x_train, y_train), (x_test, y_test) = load_cifar10(tmp_path)
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    assert y_train.tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    assert y_test.tolist() == [5, 6]
    # CIFAR rows are channel planes (R, then G, then B); the loader makes NHWC.
    data = expected["data_batch_1"][0]
    np.testing.assert_array_equal(x_train[0, :, :, 0].ravel(), data[0, :1024])
    np.testing.assert_array_equal(x_train[0, :, :, 2].ravel(), data[0, 2048:])


def test_cifar10_pickle_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    batch_dir = tmp_path / "cifar-10-batches-py"
    batch_dir.mkdir()
    with open(batch_dir / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": [0]}, f)
    with pytest.raises(pickle.UnpicklingError):
        load_cifar10(tmp_path)


def test_unknown_name():
    with pytest.raises(ValueError) as info:
        load("imagenet")
    message = str(info.value)
    assert "imagenet" in message
    for name in ("mnist", "fashion_mnist", "cifar10"):
        assert name in message


# --- online fallback, with keras' loaders patched (never downloads) --------


def _offline(monkeypatch, name):
    """Make keras.datasets.<name>.load_data fail like an offline machine; returns the error."""
    import keras

    monkeypatch.delenv(ENV, raising=False)
    error = OSError("Temporary failure in name resolution")

    def offline():
        raise error

    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", offline)
    return error


def test_offline_fallback_raises_runtime_error(monkeypatch):
    # Datasets without an embedded subset fail with a clear message.
    error = _offline(monkeypatch, "fashion_mnist")
    with pytest.raises(RuntimeError) as info:
        load_fashion_mnist()
    message = str(info.value)
    assert "download" in message and "failed" in message
    assert ENV in message and "data_dir=" in message
    assert "train-images-idx3-ubyte.gz" in message
    assert info.value.__cause__ is error


def test_offline_mnist_falls_back_to_embedded_subset_with_warning(monkeypatch):
    _offline(monkeypatch, "mnist")
    with pytest.warns(UserWarning) as caught:
        (splits, source) = load_mnist(with_source=True)
    message = str(caught[0].message)
    assert "download" in message and "failed" in message and ENV in message
    assert "embedded" in message and "4,000" in message
    assert source["kind"] == "embedded"
    assert datasets.last_source("mnist") == source
    check_split(splits, 4000, 1000, (28, 28))


# --- the embedded MNIST subset ----------------------------------------------


def test_embedded_subset_is_balanced_real_mnist():
    splits, source = datasets.load_embedded_mnist(with_source=True)
    check_split(splits, 4000, 1000, (28, 28))
    assert np.bincount(splits[0][1]).tolist() == [400] * 10
    assert np.bincount(splits[1][1]).tolist() == [100] * 10
    assert source["kind"] == "embedded" and "not full MNIST" in source["description"]
    assert datasets.EMBEDDED_MNIST.stat().st_size < 2_000_000
    attribution = (datasets.EMBEDDED_MNIST.parent / "ATTRIBUTION.md").read_text()
    for words in ("Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0", "make_mnist_subset"):
        assert words in attribution


def test_embedded_subset_can_be_asked_for(monkeypatch, tmp_path):
    write_npz(tmp_path / "mnist.npz")
    monkeypatch.setenv(ENV, str(tmp_path))
    (x_train, _), _ = load_mnist("embedded")
    assert len(x_train) == 4000  # the explicit argument wins over the variable
    assert datasets.last_source("mnist")["kind"] == "embedded"
    (x_train, _), _ = load("mnist")
    assert len(x_train) == 4 and datasets.last_source("mnist")["kind"] == "data_dir"
    monkeypatch.setenv(ENV, "embedded")
    (x_train, _), _ = load("mnist")
    assert len(x_train) == 4000


def test_embedded_subset_is_what_cut_mnist_subset_cuts(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    cut = datasets.cut_mnist_subset(x_train, y_train, x_test, y_test)
    with np.load(datasets.EMBEDDED_MNIST) as shipped:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            np.testing.assert_array_equal(shipped[key], cut[key])


def test_source_is_recorded_for_a_data_dir(data_dir):
    _, source = load_mnist(data_dir, with_source=True)
    assert source["kind"] == "data_dir" and source["path"] == str(data_dir / "mnist.npz")
    assert "60,000" in source["description"]


def test_online_fallback_normalises_keras_cifar(monkeypatch):
    import keras

    monkeypatch.delenv(ENV, raising=False)
    x = np.zeros((3, 32, 32, 3), np.uint8)
    y = np.array([[1], [2], [3]], np.uint8)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: ((x, y), (x, y)))
    (x_train, y_train), (x_test, y_test) = load_cifar10()
    assert x_train.shape == (3, 32, 32, 3)
    assert y_train.tolist() == [1, 2, 3] and y_test.shape == (3,)


def test_no_download_attempt_when_directory_given(monkeypatch, tmp_path):
    import keras

    def fail():
        raise AssertionError("must not download when a directory is given")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", fail)
    with pytest.raises(FileNotFoundError):
        load_fashion_mnist(tmp_path)


def test_module_has_no_hard_keras_import():
    # Importing the module must stay cheap: Keras is only needed for downloads.
    assert "keras" not in vars(datasets)
