"""Neural art: Gatys-style style transfer, with the image's pixels as the optimizee.

The loss of an image x is `content_weight * content + style_weight * style`
over the feature maps F_l of a fixed conv network (Gatys et al. 2016):
- content: mean((F_l(x) - F_l(c))^2) over the content layers, c the content image;
- style: mean((G_l(x) - G_l(s))^2) over the style layers' Gram matrices
  G_l = F_l^T F_l / (H_l W_l) (channels x channels), s the style image.
Both are means, so the loss is on one scale at every image size.

Feature networks (`network`):
- "random" (default, offline): a fixed conv net with seeded He-normal random
  filters (`random_feature_network`). Random-filter networks are a known working
  basis for texture synthesis and style transfer (Ustyuzhaninov et al. 2016;
  He et al. 2016). Their Gram matrices capture colours and local textures
  (blobs, edges, grain at three scales) but not the object-level motifs of a
  trained network, so the pictures take the style's palette and grain over the
  content's layout rather than its brush strokes.
- "vgg19": `keras.applications.VGG19` with ImageNet weights (read from
  `~/.keras/models/` or downloaded by Keras); style layers block1..5_conv1,
  content layer block4_conv2, as in Gatys et al. Where the weights cannot be
  loaded this raises, naming "random" as the offline alternative.

Images are the sample images that ship inside scikit-image
(`pip install scikit-image`, or the `art` extra), read from its package
directory, never downloaded; licences in `ART_ATTRIBUTION.md` beside this file.
A run's seed draws its content: one image of the content set, a random square
crop of it and a random flip; its initial image is uniform noise in [0, 1].
"""

import importlib.util
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_l2l.problems.base import Problem

#: name -> file in scikit-image's `skimage/data` (all CC0 or public domain).
IMAGES = {
    "astronaut": "astronaut.png",
    "coffee": "coffee.png",
    "chelsea": "chelsea.png",
    "rocket": "rocket.jpg",
    "camera": "camera.png",
    "ihc": "ihc.png",
    "hubble": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
    "brick": "brick.png",
    "gravel": "gravel.png",
}
#: Named content sets: the meta-training images and the held-out ones.
CONTENT_SETS = {"train": ("astronaut", "coffee", "chelsea"), "test": ("rocket", "camera")}
NETWORKS = ("random", "vgg19")
NAME_PATTERN = "style/CONTENT/STYLE/SIZE[/NETWORK]"
#: Content images are resized to this multiple of the size, then cropped at random.
CROP_MARGIN = 1.25
_CONTENT_SALT = 0xC0DE  # keeps the content draw apart from the initial image's noise


def image_dir():
    """scikit-image's bundled sample-image directory (found without importing skimage)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The style-transfer problems read their images from scikit-image's bundled "
            "samples; install it: pip install scikit-image (or keras-l2l[art])."
        )
    return Path(spec.submodule_search_locations[0]) / "data"


def load_image(name):
    """The named image (`IMAGES`) as float32 RGB in [0, 1], shape (H, W, 3)."""
    from PIL import Image

    if name not in IMAGES:
        raise ValueError(
            f"Unknown image {name!r}; images: {', '.join(IMAGES)}; content sets (in problem "
            f"names): {', '.join(CONTENT_SETS)}."
        )
    with Image.open(image_dir() / IMAGES[name]) as image:
        return np.asarray(image.convert("RGB"), np.float32) / 255.0


def square(image, size):
    """The centre square of `image`, resized (antialiased) to `size` x `size`."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image[top : top + side, left : left + side]
    return tf.image.resize(crop, [size, size], antialias=True).numpy()


def gram(features):
    """Gram matrices `F^T F / (H W)` of a batch of feature maps [B, H, W, C] -> [B, C, C]."""
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], features.dtype)
    return tf.einsum("bhwc,bhwd->bcd", features, features) / positions


def relative_error(value, target):
    """`mean((value - target)^2) / mean(target^2)`: 1 for a zero image, whatever the target's scale."""
    return tf.reduce_mean(tf.square(value - target)) / tf.reduce_mean(tf.square(target))


#: Output channels of the random-feature network's layers.
RANDOM_CHANNELS = (32, 64, 128)


def random_kernels(seed=0, channels=RANDOM_CHANNELS):
    """The random network's 3x3 conv kernels: He-normal, drawn by numpy `default_rng(seed)`."""
    rng = np.random.default_rng(seed)
    kernels, inputs = [], 3
    for width in channels:
        kernels.append(rng.normal(0.0, np.sqrt(2.0 / (9 * inputs)), (3, 3, inputs, width)))
        inputs = width
    return [kernel.astype(np.float32) for kernel in kernels]


def random_feature_network(seed=0, channels=RANDOM_CHANNELS):
    """A fixed conv net with seeded random filters: `(features, style layers, content layers)`.

    `features(x)` maps images [B, H, W, 3] in [0, 1] (centred first) to the
    maps of every layer: a 3x3 conv (`random_kernels`) and ReLU, with a 2x2
    average pool before every layer after the first, so the layers see three
    scales. Every layer is a style layer; the deepest is the content layer.
    """
    kernels = [tf.constant(kernel) for kernel in random_kernels(seed, channels)]

    def features(x):
        outputs, h = [], x - 0.5
        for i, kernel in enumerate(kernels):
            if i:
                h = tf.nn.avg_pool2d(h, 2, 2, "VALID")
            h = tf.nn.relu(tf.nn.conv2d(h, kernel, 1, "SAME"))
            outputs.append(h)
        return outputs

    return features, list(range(len(kernels))), [len(kernels) - 1]


VGG19_STYLE_LAYERS = [f"block{i}_conv1" for i in range(1, 6)]
VGG19_CONTENT_LAYERS = ["block4_conv2"]


def vgg19_network(size):
    """VGG19's ImageNet features, as `random_feature_network` returns them.

    Raises a RuntimeError naming the offline alternative when the weights cannot load.
    """
    import keras

    try:
        vgg = keras.applications.VGG19(
            include_top=False, weights="imagenet", input_shape=(size, size, 3)
        )
    except Exception as exc:  # no cached weights and no network, a bad cache, ...
        raise RuntimeError(
            f"VGG19's ImageNet weights could not be loaded ({type(exc).__name__}: {exc}). "
            "Keras reads them from ~/.keras/models/ or downloads them; offline, use the "
            "random-feature network instead: network='random' (problem names "
            "style/CONTENT/STYLE/SIZE or .../SIZE/random)."
        ) from exc
    names = VGG19_STYLE_LAYERS + VGG19_CONTENT_LAYERS
    model = keras.Model(vgg.input, [vgg.get_layer(name).output for name in names])
    model.trainable = False

    def features(x):
        return model(keras.applications.vgg19.preprocess_input(255.0 * x), training=False)

    count = len(VGG19_STYLE_LAYERS)
    return features, list(range(count)), [count]


class StyleTransfer(Problem):
    """Style transfer of one of `content` images into `style`, at `size` x `size` pixels.

    The parameters are one image `[size, size, 3]`; see the module docstring for
    the loss, the networks and the images. `content` is a tuple of image names
    (or one name); each seed draws one of them (plus crop and flip), so a
    meta-training run sees a distribution of content. The loss is deterministic
    in (parameters, seed), so `eval_loss` is the loss itself and full-batch
    methods (L-BFGS) apply.
    """

    full_batch_skip_reason = None
    eval_set = "the run's own content and style images (no data)"

    def __init__(self, content=CONTENT_SETS["train"], style="ihc", size=64, network="random",
                 content_weight=1.0, style_weight=1.0, network_seed=0):
        content = (content,) if isinstance(content, str) else tuple(content)
        if network not in NETWORKS:
            raise ValueError(f"Unknown feature network {network!r}; choose from {NETWORKS}.")
        if int(size) < 32:
            raise ValueError(f"size must be at least 32 pixels (three pooling scales), got {size}.")
        self.size, self.content, self.style, self.network = int(size), content, style, network
        self.content_weight, self.style_weight = float(content_weight), float(style_weight)
        margin = int(round(self.size * CROP_MARGIN))
        self.content_images = tf.constant(np.stack([square(load_image(n), margin) for n in content]))
        self.style_image = tf.constant(square(load_image(style), self.size))
        if network == "random":
            self.features, self.style_layers, self.content_layers = random_feature_network(
                network_seed
            )
        else:
            self.features, self.style_layers, self.content_layers = vgg19_network(self.size)
        self.name = f"style/{'+'.join(content)}/{style}/{self.size}/{network}"
        self.loss_label = f"content + style loss ({network} features)"
        style_maps = self.features(self.style_image[None])
        self.style_grams = [gram(style_maps[i]) for i in self.style_layers]

    def init_params(self, seed):
        key = tf.stack([tf.cast(seed, tf.int64), tf.constant(1, tf.int64)])
        return [tf.random.stateless_uniform([self.size, self.size, 3], seed=key)]

    def batch(self, seed, step):
        """The seed's content image: one of the set, randomly cropped and flipped."""
        key = tf.stack([tf.cast(seed, tf.int64), tf.constant(_CONTENT_SALT, tf.int64)])
        pick_key, crop_key, flip_key = tf.unstack(tf.random.experimental.stateless_split(key, 3))
        index = tf.random.stateless_uniform(
            [], seed=pick_key, maxval=len(self.content), dtype=tf.int32
        )
        image = tf.image.stateless_random_crop(
            tf.gather(self.content_images, index), [self.size, self.size, 3], seed=crop_key
        )
        return tf.image.stateless_random_flip_left_right(image, seed=flip_key)

    def losses(self, params, content_image):
        """`(content loss, style loss)` of the image `params[0]`, each relative to its target."""
        maps = self.features(params[0][None])
        targets = self.features(tf.stop_gradient(content_image)[None])
        content = tf.add_n([
            relative_error(maps[i], targets[i]) for i in self.content_layers
        ]) / len(self.content_layers)
        style = tf.add_n([
            relative_error(gram(maps[i]), target)
            for i, target in zip(self.style_layers, self.style_grams)
        ]) / len(self.style_layers)
        return content, style

    def loss(self, params, batch):
        content, style = self.losses(params, batch)
        return self.content_weight * content + self.style_weight * style

    def eval_loss(self, params, seed):
        return self.loss(params, self.batch(seed, 0))


def parse_name(name):
    """`style/CONTENT/STYLE/SIZE[/NETWORK]` -> `StyleTransfer` keyword arguments.

    CONTENT is an image name, a content set (`CONTENT_SETS`: train, test) or
    image names joined by '+'; STYLE an image name; SIZE pixels; NETWORK
    random (default) or vgg19.
    """
    parts = name.split("/")
    spelled = (
        f"A style-transfer problem is spelled {NAME_PATTERN}, e.g. style/train/ihc/64 or "
        f"style/rocket+camera/hubble/128/random"
    )
    if len(parts) not in (4, 5) or parts[0] != "style":
        raise ValueError(f"{spelled}; got {name!r}.")
    content, style, size = parts[1:4]
    if not size.isdigit():
        raise ValueError(f"{spelled}; SIZE must be a whole number of pixels, got {size!r}.")
    images = CONTENT_SETS.get(content) or tuple(content.split("+"))
    network = parts[4] if len(parts) == 5 else "random"
    return {"content": images, "style": style, "size": int(size), "network": network}
