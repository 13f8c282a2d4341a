"""Style transfer: losses against a NumPy reference, gradients, a learned optimizer, names."""

import importlib.util

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import flat
from keras_l2l.evaluation import runs
from keras_l2l.problems import get_problem
from keras_l2l.problems import style_transfer
from keras_l2l.problems.style_transfer import StyleTransfer, gram, parse_name, random_kernels
from keras_l2l.rollout import make_rollout
from keras_l2l.trained_rule import TrainedRule

pytest.importorskip("skimage")  # the images ship inside scikit-image (the `test` extra)

SIZE = 32  # the smallest size: three pooling scales


@pytest.fixture(scope="module")
def problem():
    return StyleTransfer(("coffee", "chelsea"), "ihc", SIZE)


# NumPy reference of the random-feature network and the loss.


def np_conv3x3_relu(h, kernel):
    height, width = h.shape[:2]
    padded = np.pad(h, ((1, 1), (1, 1), (0, 0)))
    out = sum(
        padded[i : i + height, j : j + width] @ kernel[i, j] for i in range(3) for j in range(3)
    )
    return np.maximum(out, 0.0)


def np_features(image):
    maps, h = [], image.astype(np.float64) - 0.5
    for i, kernel in enumerate(random_kernels(0)):
        if i:
            height, width, channels = h.shape
            h = h.reshape(height // 2, 2, width // 2, 2, channels).mean(axis=(1, 3))
        h = np_conv3x3_relu(h, kernel.astype(np.float64))
        maps.append(h)
    return maps


def np_gram(features):
    flat_maps = features.reshape(-1, features.shape[-1])
    return flat_maps.T @ flat_maps / flat_maps.shape[0]


def np_relative_error(value, target):
    return np.mean((value - target) ** 2) / np.mean(target**2)


def test_gram_matches_numpy():
    features = np.random.default_rng(0).normal(size=(2, 5, 7, 4)).astype(np.float32)
    expected = np.stack([np_gram(f) for f in features])
    np.testing.assert_allclose(gram(tf.constant(features)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_losses_match_numpy_reference(problem):
    image = np.random.default_rng(1).uniform(size=(SIZE, SIZE, 3)).astype(np.float32)
    content_image = problem.batch(tf.constant(3, tf.int64), 0).numpy()
    maps, targets = np_features(image), np_features(content_image)
    style_maps = np_features(problem.style_image.numpy())
    expected_content = np_relative_error(maps[-1], targets[-1])
    expected_style = np.mean([
        np_relative_error(np_gram(m), np_gram(s)) for m, s in zip(maps, style_maps)
    ])
    content, style = problem.losses([tf.constant(image)], tf.constant(content_image))
    np.testing.assert_allclose(float(content), expected_content, rtol=1e-4)
    np.testing.assert_allclose(float(style), expected_style, rtol=1e-4)
    loss = problem.loss([tf.constant(image)], tf.constant(content_image))
    np.testing.assert_allclose(float(loss), expected_content + expected_style, rtol=1e-4)


def test_gradient_matches_finite_differences(problem):
    seed = tf.constant(5, tf.int64)
    x = flat.flatten(problem.init_params(seed))
    shapes = problem.shapes()
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = problem.eval_loss(flat.unflatten(x, shapes), seed)
    grad = tape.gradient(loss, x).numpy().astype(np.float64)
    rng = np.random.default_rng(0)
    for _ in range(3):
        direction = rng.normal(size=x.shape)
        direction /= np.linalg.norm(direction)
        eps = 1e-2
        values = [
            float(problem.eval_loss(flat.unflatten(x + s * eps * direction, shapes), seed))
            for s in (1.0, -1.0)
        ]
        numeric = (values[0] - values[1]) / (2 * eps)
        np.testing.assert_allclose(grad @ direction, numeric, rtol=2e-2, atol=1e-5)


def test_seed_draws_content_crop_and_noise_deterministically(problem):
    a, b = problem.batch(tf.constant(0, tf.int64), 0), problem.batch(tf.constant(0, tf.int64), 9)
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # content is per run, not per step
    crops = {problem.batch(tf.constant(s, tf.int64), 0).numpy().tobytes() for s in range(6)}
    assert len(crops) == 6
    init = problem.init_params(tf.constant(0, tf.int64))[0].numpy()
    assert init.shape == (SIZE, SIZE, 3) and 0.0 <= init.min() and init.max() <= 1.0
    seed = tf.constant(2, tf.int64)
    params = problem.init_params(seed)
    assert float(problem.eval_loss(params, seed)) == float(problem.loss(params, problem.batch(seed, 0)))


def test_learned_optimizer_lowers_the_loss_in_a_few_steps(problem):
    learned = TrainedRule.from_preset("art")
    seed = runs.seed_tensor(4)
    x0 = flat.flatten(problem.init_params(seed))
    run = make_rollout(learned.rule, problem)
    losses, final = run(learned.meta_tensors(), x0, seed, tf.constant(10))
    start = float(problem.eval_loss(flat.unflatten(x0, problem.shapes()), seed))
    end = float(problem.eval_loss(flat.unflatten(final, problem.shapes()), seed))
    assert np.all(np.isfinite(losses.numpy()))
    assert end < 0.8 * start


def test_registry_builds_named_problems():
    problem = get_problem("style/coffee+rocket/hubble/32/random")
    assert problem.name == "style/coffee+rocket/hubble/32/random"
    assert problem.content == ("coffee", "rocket") and problem.style == "hubble"
    assert problem.shapes() == [(32, 32, 3)] and problem.full_batch_skip_reason is None
    assert parse_name("style/test/ihc/64")["content"] == style_transfer.CONTENT_SETS["test"]


@pytest.mark.parametrize("name, message", [
    ("style/train/ihc", "spelled style/CONTENT/STYLE/SIZE"),
    ("style/train/ihc/big", "SIZE must be a whole number"),
    ("style/train/ihc/64/resnet", "Unknown feature network 'resnet'"),
    ("style/train/picasso/64", "Unknown image 'picasso'.*content sets"),
    ("style/dog/ihc/64", "Unknown image 'dog'"),
    ("style/train/ihc/16", "at least 32 pixels"),
])
def test_bad_names_say_what_is_wrong(name, message):
    with pytest.raises(ValueError, match=message):
        get_problem(name)


def test_vgg19_without_weights_names_the_offline_network(monkeypatch):
    def unavailable(**kwargs):
        raise OSError("no network")

    monkeypatch.setattr(keras.applications, "VGG19", unavailable)
    with pytest.raises(RuntimeError, match="network='random'.*style/CONTENT/STYLE/SIZE"):
        StyleTransfer("coffee", "ihc", SIZE, network="vgg19")


def test_vgg19_network_builds_the_loss(monkeypatch):
    """The VGG19 path end to end, on VGG19's architecture with random weights (offline)."""
    build = keras.applications.VGG19
    monkeypatch.setattr(keras.applications, "VGG19",
                        lambda **kwargs: build(**{**kwargs, "weights": None}))
    problem = StyleTransfer("coffee", "ihc", SIZE, network="vgg19")
    seed = tf.constant(0, tf.int64)
    content, style = problem.losses(problem.init_params(seed), problem.batch(seed, 0))
    assert len(problem.style_grams) == 5 and np.isfinite(float(content) + float(style))


def test_missing_scikit_image_says_how_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install scikit-image"):
        style_transfer.load_image("coffee")
