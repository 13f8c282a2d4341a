"""Problems: KerasProblem vs the model itself, seeding, Quadratic, MLP and ConvNet on real data."""

import math
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import datasets, flat
from keras_l2l.problems import (
    PROBLEMS,
    ConvNet,
    KerasProblem,
    MLP,
    Quadratic,
    get_problem,
)
from keras_l2l.problems.keras_problem import noise_states
from keras_l2l.problems.mlp import load_split

# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------


def functional_model():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(5, activation="tanh")(inputs)
    skip = keras.layers.Concatenate()([hidden, inputs])
    outputs = keras.layers.Dense(3, activation="softmax")(skip)
    return keras.Model(inputs, outputs)


def batchnorm_model():
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dense(1),
        ]
    )


def toy_data(kind, n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    if kind == "classification":
        return x, rng.integers(0, 3, size=n).astype(np.int32)
    return x, rng.normal(size=(n, 1)).astype(np.float32)


MODELS = {
    "functional": (functional_model, "sparse_categorical_crossentropy", "classification"),
    "sequential_bn": (batchnorm_model, "mse", "regression"),
}


def assert_lists_close(a, b, **kwargs):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kwargs)


def all_different(a, b):
    """Every pair of same-shaped tensors differs somewhere (for random inits)."""
    return all(not np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))


# --------------------------------------------------------------------------
# KerasProblem.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("which", sorted(MODELS))
def test_keras_problem_matches_calling_the_model(which):
    make_model, loss_name, kind = MODELS[which]
    model = make_model()
    x, y = toy_data(kind)
    problem = KerasProblem(model, loss_name, x, y, batch_size=16)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(7)
    from_dataset = KerasProblem(model, loss_name, dataset, batch_size=16)
    np.testing.assert_array_equal(from_dataset.x_train.numpy(), x)
    np.testing.assert_array_equal(from_dataset.y_train.numpy(), y)
    assert problem.shapes() == [tuple(v.shape) for v in model.trainable_variables]

    loss_fn = keras.losses.get(loss_name)
    for step in range(2):
        batch = problem.batch(3, step)
        xb, yb, _ = batch
        assert xb.shape[0] == 16
        params = [v.value for v in model.trainable_variables]
        with tf.GradientTape() as tape:
            got = problem.loss(params, batch)
        got_grads = tape.gradient(got, params)
        with tf.GradientTape() as tape:
            want = tf.reduce_mean(loss_fn(yb, model(xb, training=True)))
        want_grads = tape.gradient(want, model.trainable_variables)
        assert float(got) == pytest.approx(float(want), rel=1e-5)
        assert all(g is not None for g in got_grads)
        assert_lists_close(got_grads, want_grads, rtol=1e-4, atol=1e-6)

        with tf.GradientTape() as tape:
            tape.watch(params)
            again = from_dataset.loss(params, from_dataset.batch(3, step))
        assert float(again) == pytest.approx(float(want), rel=1e-5)
        assert_lists_close(tape.gradient(again, params), want_grads, rtol=1e-4, atol=1e-6)

    # The flat-vector path every rule uses gives the same value.
    shapes = problem.shapes()
    flat_params = flat.flatten([v.value for v in model.trainable_variables])
    batch = problem.batch(3, 0)
    via_flat = problem.loss(flat.unflatten(flat_params, shapes), batch)
    assert float(via_flat) == pytest.approx(float(problem.loss(
        [v.value for v in model.trainable_variables], batch)), rel=1e-6)


def test_keras_problem_batchnorm_uses_batch_statistics():
    """Training-mode batch norm: the loss does not depend on the moving statistics."""
    model = batchnorm_model()
    x, y = toy_data("regression")
    problem = KerasProblem(model, "mse", x, y, batch_size=16)
    bn = model.layers[1]
    bn.moving_mean.assign(np.full(8, 100.0, np.float32))
    shifted = KerasProblem(model, "mse", x, y, batch_size=16)
    params = [v.value for v in model.trainable_variables]
    batch = problem.batch(0, 0)
    assert float(shifted.loss(params, batch)) == pytest.approx(
        float(problem.loss(params, batch)), rel=1e-6
    )


def test_keras_problem_rejects_bad_inputs():
    model = batchnorm_model()
    x, y = toy_data("regression")
    with pytest.raises(ValueError, match="same number"):
        KerasProblem(model, "mse", x, y[:-1])
    with pytest.raises(ValueError, match="either"):
        KerasProblem(model, "mse", tf.data.Dataset.from_tensor_slices((x, y)), y)
    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="Build the model"):
        KerasProblem(unbuilt, "mse", x, y)


def test_keras_problem_init_params_seeded_without_touching_global_random():
    model = functional_model()
    x, y = toy_data("classification")
    problem = KerasProblem(model, "sparse_categorical_crossentropy", x, y)
    random.seed(1234)
    state = random.getstate()
    a0, a0_again, a1 = problem.init_params(0), problem.init_params(0), problem.init_params(1)
    assert random.getstate() == state  # Python's global `random` left as it was
    assert [tuple(p.shape) for p in a0] == problem.shapes()
    assert_lists_close(a0, a0_again, rtol=0, atol=0)
    kernels = [i for i, v in enumerate(model.trainable_variables) if "kernel" in v.path]
    assert len(kernels) == 2
    assert all_different([a0[i] for i in kernels], [a1[i] for i in kernels])
    # The model's own weights are not changed by re-initialization.
    assert not all(np.array_equal(p, v.numpy()) for p, v in zip(a0, model.trainable_variables))


def test_keras_problem_loss_label_from_its_loss():
    x, y = toy_data("regression")
    labels = {
        "mse": "mean_squared_error",
        keras.losses.MeanAbsoluteError(reduction=None): "mean_absolute_error",
        lambda y_true, y_pred: tf.square(y_true - y_pred): "loss",
    }
    for loss, label in labels.items():
        assert KerasProblem(batchnorm_model(), loss, x, y).loss_label == label


def test_keras_problem_has_a_test_metric_only_with_test_data():
    x, y = toy_data("classification")
    model, loss = functional_model(), "sparse_categorical_crossentropy"
    without = KerasProblem(model, loss, x, y)
    assert without.test_metric_name is None and without.test_metric(without.init_params(0), 0) is None
    with_test = KerasProblem(model, loss, x, y, test_data=(x, y))
    assert with_test.test_metric_name == "test_accuracy"
    assert 0.0 <= float(with_test.test_metric(with_test.init_params(0), 0)) <= 1.0


class NoisyBlock(keras.layers.Layer):
    """A custom layer holding a random layer, to check nested layers are found."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(4)
        self.noise = keras.layers.GaussianNoise(0.1)

    def call(self, x, training=None):
        return self.noise(self.dense(x), training=training)


@pytest.mark.parametrize(
    "middle, random_layers",
    [
        ([keras.layers.BatchNormalization(), keras.layers.Dropout(0.0)], None),
        ([keras.layers.Dropout(0.3)], "Dropout"),
        ([NoisyBlock()], "GaussianNoise"),
    ],
)
def test_keras_problem_full_batch_only_without_random_layers(middle, random_layers):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), *middle,
                              keras.layers.Dense(1)])
    problem = KerasProblem(model, "mse", *toy_data("regression"))
    if random_layers is None:
        assert problem.full_batch_skip_reason is None
        params = problem.init_params(0)
        assert float(problem.eval_loss(params, 0)) == float(problem.eval_loss(params, 1))
    else:
        assert random_layers in problem.full_batch_skip_reason


def test_keras_problem_eval_loss_of_image_outputs_is_on_the_minibatch_scale():
    """MSE of images keeps the pixel axes; eval_loss averages them, as the minibatch loss does."""
    x = np.random.default_rng(0).uniform(size=(12, 4, 4, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 3, padding="same")])
    problem = KerasProblem(model, "mse", x, x, batch_size=12)
    params = problem.init_params(0)
    whole = problem.loss(params, (tf.constant(x), tf.constant(x), problem.batch(0, 0)[2]))
    assert float(problem.eval_loss(params, 0)) == pytest.approx(float(whole), rel=1e-5)
    scalar = KerasProblem(model, keras.losses.MeanSquaredError(), x, x)
    with pytest.raises(ValueError, match="one value per example"):
        scalar.eval_loss(params, 0)


def dropout_problem():
    """Two dropout layers of the same shape after the inputs, then a linear readout."""
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dropout(0.5),
                              keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    return KerasProblem(model, "mse", *toy_data("regression"), batch_size=16)


def test_keras_problem_dropout_draws_a_fresh_mask_per_seed_and_step():
    problem = dropout_problem()
    params = problem.init_params(0)
    x = tf.ones((16, 6))
    outputs = {
        (seed, step): problem.predict(params, x, problem.batch(seed, step)[2]).numpy()
        for seed, step in [(0, 0), (0, 1), (1, 0), (1, 1)]
    }
    assert np.array_equal(outputs[0, 0], problem.predict(params, x, problem.batch(0, 0)[2]))
    pairs = [(a, b) for a in outputs for b in outputs if a < b]
    assert all(not np.array_equal(outputs[a], outputs[b]) for a, b in pairs)
    # Inside a compiled loop too: the mask follows the step tensor.
    compiled = tf.function(lambda step: problem.predict(params, x, problem.batch(0, step)[2]))
    np.testing.assert_array_equal(compiled(tf.constant(1)), outputs[0, 1])


def test_keras_problem_dropout_eval_is_reproducible_per_seed():
    problem = dropout_problem()
    params = problem.init_params(0)
    first = float(problem.eval_loss(params, 3))
    assert float(problem.eval_loss(params, 3)) == first
    assert float(tf.function(problem.eval_loss)(params, tf.constant(3))) == pytest.approx(first)
    assert float(problem.eval_loss(params, 4)) != first
    # The two same-shaped dropout layers draw different masks.
    states = noise_states(problem.batch(0, 0)[2], 2).numpy()
    assert not np.array_equal(states[0], states[1])


# --------------------------------------------------------------------------
# Quadratic.
# --------------------------------------------------------------------------


def test_quadratic_loss_matches_numpy():
    problem = Quadratic(dim=4, num_problems=3)
    params = problem.init_params(7)
    assert problem.shapes() == [(3, 4)]
    theta = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    w, y = (t.numpy().astype(np.float64) for t in problem.batch(7, 0))
    assert w.shape == (3, 4, 4) and y.shape == (3, 4)
    want = sum(np.sum((w[p] @ theta[p] - y[p]) ** 2) for p in range(3))
    got = float(problem.loss([tf.constant(theta)], problem.batch(7, 0)))
    assert got == pytest.approx(want, rel=1e-5)
    assert float(problem.eval_loss(params, 7)) == pytest.approx(
        float(problem.loss(params, problem.batch(7, 0))), rel=1e-6
    )


def test_quadratic_seeding_and_batches():
    problem = Quadratic(dim=5, num_problems=2, init_scale=0.01)
    a, b = problem.init_params(3), problem.init_params(3)
    np.testing.assert_array_equal(a[0], b[0])
    assert all_different(a, problem.init_params(4))
    assert 0 < float(tf.math.reduce_std(a[0])) < 0.05  # N(0, 0.01^2)
    for step in (1, 17, tf.constant(5)):  # the same instance at every step
        for x, z in zip(problem.batch(3, 0), problem.batch(3, step)):
            np.testing.assert_array_equal(x, z)
    assert all_different(problem.batch(3, 0), problem.batch(4, 0))

    uniform = Quadratic(dim=5, num_problems=20, distribution="uniform")
    for t in uniform.batch(0, 0):
        t = t.numpy()
        assert t.min() >= 0.0 and t.max() < 1.0
        assert 0.4 < t.mean() < 0.6
    normal_w = problem.batch(0, 0)[0].numpy()
    assert normal_w.min() < 0  # the default draws are not uniform in [0, 1)
    with pytest.raises(ValueError, match="distribution"):
        Quadratic(distribution="cauchy")


# --------------------------------------------------------------------------
# MLP on MNIST.
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_mlp(data_dir):
    return MLP("mnist", data_dir=data_dir)


def test_mlp_batches(mnist_mlp):
    problem = mnist_mlp
    x, y = problem.batch(0, 0)
    assert x.shape == (128, 784) and x.dtype == tf.float32
    assert y.shape == (128,) and y.dtype == tf.int32
    assert 0 <= int(tf.reduce_min(y)) and int(tf.reduce_max(y)) <= 9
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    x_again, y_again = problem.batch(tf.constant(0, tf.int64), tf.constant(0))
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    x1, _ = problem.batch(0, 1)
    x_other, _ = problem.batch(1, 0)
    assert not np.array_equal(x, x1) and not np.array_equal(x, x_other)


def test_mlp_initial_loss_and_metrics(mnist_mlp):
    problem = mnist_mlp
    assert problem.loss_label == "cross-entropy (nats)" and problem.full_batch_skip_reason is None
    assert problem.shapes() == [(784, 20), (20,), (20, 10), (10,)]
    params = problem.init_params(0)
    loss = float(problem.loss(params, problem.batch(0, 0)))
    assert loss == pytest.approx(math.log(10), abs=0.05)
    eval_loss = float(problem.eval_loss(params, 0))  # full training split
    assert eval_loss == pytest.approx(math.log(10), abs=0.05)
    accuracy = float(problem.test_metric(params, 0))
    assert 0.02 < accuracy < 0.25  # chance level for an untrained net


def test_mlp_init_options_are_seeded(mnist_mlp, data_dir):
    glorot = MLP("mnist", init="glorot", data_dir=data_dir)
    for problem in (mnist_mlp, glorot):
        a, b, c = problem.init_params(5), problem.init_params(5), problem.init_params(6)
        assert_lists_close(a, b, rtol=0, atol=0)
        assert all_different(a[0::2], c[0::2])  # kernels
    normal = mnist_mlp.init_params(5)
    assert float(tf.math.reduce_std(normal[0])) == pytest.approx(0.01, rel=0.05)
    assert all_different(normal[1::2], mnist_mlp.init_params(6)[1::2])  # N(0, 0.01^2) biases
    params = glorot.init_params(5)
    assert all(float(tf.reduce_max(tf.abs(b))) == 0.0 for b in params[1::2])  # zero biases
    limit = math.sqrt(6 / (784 + 20))
    assert float(tf.reduce_max(tf.abs(params[0]))) <= limit
    assert float(tf.math.reduce_std(params[0])) == pytest.approx(limit / math.sqrt(3), rel=0.05)
    with pytest.raises(ValueError, match="init"):
        MLP("mnist", init="he", data_dir=data_dir)
    with pytest.raises(ValueError, match="activation"):
        MLP("mnist", activation="softplus", data_dir=data_dir)


@pytest.mark.parametrize(
    "hidden, activation, shapes",
    [
        ((40,), "sigmoid", [(784, 40), (40,), (40, 10), (10,)]),
        ((20, 20), "sigmoid", [(784, 20), (20,), (20, 20), (20,), (20, 10), (10,)]),
        ((20,), "relu", [(784, 20), (20,), (20, 10), (10,)]),
    ],
)
def test_mlp_variants(data_dir, hidden, activation, shapes):
    problem = MLP("mnist", hidden=hidden, activation=activation, data_dir=data_dir)
    assert problem.shapes() == shapes
    params = problem.init_params(0)
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = problem.loss(params, problem.batch(0, 0))
    grads = tape.gradient(loss, params)
    assert loss.shape == () and abs(float(loss) - math.log(10)) < 0.1
    assert all(np.all(np.isfinite(g)) for g in grads)
    assert float(tf.linalg.global_norm(grads)) > 0


def test_load_split_label_subset_relabels(data_dir):
    (x, y), (x_test, y_test) = load_split("mnist", data_dir, classes=(5, 6))
    (raw_x, raw_y), (_, raw_y_test) = datasets.load("mnist", data_dir)
    raw_y = np.asarray(raw_y).reshape(-1)
    assert y.dtype == tf.int32 and set(np.unique(y.numpy())) == {0, 1}
    assert set(np.unique(y_test.numpy())) == {0, 1}
    assert int(tf.reduce_sum(tf.cast(y == 0, tf.int32))) == int(np.sum(raw_y == 5))
    assert int(tf.reduce_sum(tf.cast(y == 1, tf.int32))) == int(np.sum(raw_y == 6))
    assert x_test.shape[0] == int(np.sum(np.isin(raw_y_test, (5, 6))))
    keep = np.isin(raw_y, (5, 6))
    np.testing.assert_allclose(x.numpy(), raw_x[keep].astype(np.float32) / 255.0)
    np.testing.assert_array_equal(y.numpy(), np.where(raw_y[keep] == 5, 0, 1))
    # The order of `classes` sets the new labels.
    (_, y_swapped), _ = load_split("mnist", data_dir, classes=(6, 5))
    np.testing.assert_array_equal(y_swapped.numpy(), 1 - y.numpy())


# --------------------------------------------------------------------------
# ConvNet.
# --------------------------------------------------------------------------


def one_loss_and_grad(problem, seed=0):
    params = problem.init_params(seed)
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = problem.loss(params, problem.batch(seed, 0))
    return params, loss, tape.gradient(loss, params)


def test_convnet_on_mnist(data_dir):
    problem = ConvNet("mnist", batch_size=8, data_dir=data_dir)
    assert problem.loss_label == "cross-entropy (nats)" and problem.full_batch_skip_reason is None
    assert problem.model.output_shape == (None, 10)
    assert problem.model.input_shape == (None, 28, 28, 1)
    x, y, _ = problem.batch(0, 0)
    assert x.shape == (8, 28, 28, 1) and y.shape == (8,)
    _, loss, grads = one_loss_and_grad(problem)
    assert math.isfinite(float(loss)) and 1.0 < float(loss) < 5.0
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
    assert float(tf.linalg.global_norm(grads)) > 0


def test_convnet_on_a_cifar10_label_subset(data_dir):
    problem = ConvNet("cifar10", classes=range(5), batch_size=8, data_dir=data_dir)
    assert problem.name == "cifar10_conv_01234"
    assert problem.model.output_shape == (None, 5)
    assert problem.model.input_shape == (None, 32, 32, 3)
    labels = np.unique(problem.y_train.numpy())
    np.testing.assert_array_equal(labels, np.arange(5))
    np.testing.assert_array_equal(np.unique(problem.test_data[1].numpy()), np.arange(5))
    assert problem.x_train.shape[0] == 3000  # 600 per class in the shipped subset
    params, loss, grads = one_loss_and_grad(problem, seed=2)
    assert math.isfinite(float(loss)) and 0.5 < float(loss) < 5.0
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
    accuracy = float(problem.test_metric(params, 2))
    assert 0.0 <= accuracy <= 1.0


# --------------------------------------------------------------------------
# Registry.
# --------------------------------------------------------------------------


def test_get_problem():
    problem = get_problem("quadratic")
    assert isinstance(problem, Quadratic) and problem.name == "quadratic"
    assert problem.loss_label == "‖Wθ − y‖² (unitless)" and problem.full_batch_skip_reason is None
    assert get_problem("quadratic-batch").num_problems == 128
    with pytest.raises(ValueError) as info:
        get_problem("imagenet")
    message = str(info.value)
    assert "imagenet" in message
    for name in PROBLEMS:
        assert name in message


def test_get_problem_reads_mlp_names_from_the_right(monkeypatch):
    """A TFDS DATASET may hold '/' (a config) and ':' (split slices); the rest stays fixed."""
    from keras_l2l.problems import registry

    built = []

    def fake_mlp(dataset, **kwargs):
        built.append((dataset, kwargs.get("hidden"), kwargs.get("activation"),
                      kwargs.get("batch_size")))
        return Quadratic(dim=2)

    monkeypatch.setattr(registry, "MLP", fake_mlp)
    get_problem("mlp/tfds:emnist/letters:train[:50%]/64-32/gelu/b64")
    get_problem("mlp/tfds:cifar100//relu/b128")
    get_problem("mlp/mnist/20/sigmoid/b128")
    get_problem("tfds:mnist:train[10:20]")
    assert built[:3] == [
        ("tfds:emnist/letters:train[:50%]", (64, 32), "gelu", 64),
        ("tfds:cifar100", (), "relu", 128),
        ("mnist", (20,), "sigmoid", 128),
    ]
    assert built[3][0] == "tfds:mnist:train[10:20]"
    for bad in ("mlp/mnist/extra/20/sigmoid/b128", "mlp/tfds:mnist/20/sigmoid"):
        with pytest.raises(ValueError, match="is spelled"):
            get_problem(bad)
    with pytest.raises(ValueError, match=r"tfds:NAME\[:SPLIT\]"):
        get_problem("imagenet")
