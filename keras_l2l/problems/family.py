"""A task family for meta-training: small Keras models drawn at random, each reproducible by name.

`family/<kind>/<seed>` (through `get_problem`) builds one task; the seed fixes
everything about it: dataset, image size (downsampling), training subsample,
architecture, activation, batch size, the input scale and, where they apply,
the loss and the regression targets. `family_names(count, seed, kinds)` draws
names, `sample_tasks(count, seed, data_dir, kinds)` builds them, and
`expand("family:N[:SEED[:KIND+KIND...]]")` turns the command-line shorthand into
names. A preset's provenance lists the names, so its tasks can be rebuilt.

Kinds (`KINDS`), on MNIST, Fashion-MNIST and the 6,000-image CIFAR-10 subset:

- `mlp`: 1-3 dense hidden layers of 16-128 units, sigmoid / ReLU / tanh /
  GELU, on 28x28, 14x14 or 8x8 images (CIFAR: 32x32, 16x16, 8x8);
- `logreg`: logistic regression on the same inputs;
- `conv`: 1-2 unstrided 3x3 convolutions (8 or 16 channels), each followed by
  batch norm, ReLU and 2x2 max pooling, then a flattening dense head
  (optionally one hidden layer of 32 when the pooled map has at most 800
  values), on 28x28 / 14x14 MNISTs or 16x16 CIFAR;
- `rnn`: a SimpleRNN or GRU of 16-32 units reading the rows of 14x14 / 8x8
  MNISTs or 16x16 / 8x8 CIFAR (rows of 48 / 24 values), dense head;
- `autoencoder`: a dense autoencoder (optional hidden layer each side, a
  16-32 unit bottleneck) reconstructing the clean image, with MSE on a sigmoid
  output or sigmoid cross-entropy on logits;
- `regression`: an MLP (1-2 hidden layers) regressing 1-4 standardized random
  projections of the pixels (linear, tanh or absolute value of them), MSE.

One more kind, `regions`, is offered but not drawn by default (`KINDS` and so
every existing `family:N` sample stay as they were; name it, e.g.
``family:24:5:regions``): a linear model or an MLP (0-2 hidden layers)
regressing the mean intensity of each cell of a 2x2, 3x3 or 4x4 grid over the
image, standardized, MSE. The targets are linear in the pixels, so the loss can
fall towards zero and the gradient noise with it: the low-noise regime in
which a rule has to keep shrinking its steps (random projections of 2,048-4,096
images stay noisy; losses of 0.2-0.6 after 1,000 steps).

Every task: a training subsample of 2,048-4,096 images (so `eval_loss`, over
all of it, stays cheap; the classifiers' test accuracy is on 1,000 test
images), batch 16-256, inputs multiplied by a per-task constant
exp(U(-1, 1)) (the targets of reconstruction and regression are computed from
the unscaled images), Keras' default initializers (each run's parameters
from its run seed, as for every `KerasProblem`). Cost is bounded: first-layer
kernels hold at most `PARAM_BUDGET` weights (a wider first layer is halved
until it fits; a conv net's dense head is dropped), and the batch or the
widest layer is halved until `step_cost` is within `COST_BUDGET`, 3.4 times
the paper's MNIST MLP (784-20-10, batch 128). Measured in meta-training with `general`'s
rule on CPU (results/general-c/timing.jsonl), the costliest of 3,000 draws of
each kind takes 1.5-4.2 times that MLP's step (as `general`'s costliest
tasks, 3-3.6 times), and a family task costs on average 0.7 times one of
`general`'s 9 tasks.

What separates the family from the held-out suite (`suite_tasks`), whose
*kinds* it deliberately covers so that the suite tests transfer to nearby but
unseen tasks:

- convolutions: the suite's conv nets use strided convolutions, dropout and
  global average pooling, or depthwise-separable convolutions; here
  convolutions are unstrided, pooled by max pooling, no dropout, flattened;
- recurrence: the suite has an LSTM on full 28x28 Fashion-MNIST rows and an
  embedding + GRU on synthetic tokens; here SimpleRNN / GRU on downsampled
  image rows, never an LSTM, never tokens;
- reconstruction: the suite's autoencoder is convolutional (strided convs and
  transposed convs); here only dense autoencoders;
- regression: the suite regresses Fashion-MNIST intensity centroids; here
  random projections of the pixels, never the centroid;
- no attention or patch tokens, no two-input models, no residual blocks, no
  layer normalization;
- logistic regression: the suite's is CIFAR at batch 512; here batches are
  at most 256 and inputs are rescaled.

Draws use only `numpy.random.Generator.random` (uniform doubles), so a name
rebuilds the same task as long as that stream is stable.
"""

import functools
import math
import zlib

import keras
import numpy as np
import tensorflow as tf

from keras_l2l import datasets
from keras_l2l.problems.keras_problem import KerasProblem

layers = keras.layers

KINDS = ("mlp", "logreg", "conv", "rnn", "autoencoder", "regression")
#: Kinds that can be named but are not drawn unless asked for (see the module docstring).
EXTRA_KINDS = ("regions",)
PREFIX = "family/"
SPEC_PREFIX = "family:"
NAME_PATTERN = "family/KIND/SEED"
SPEC_PATTERN = "family:N[:SEED[:KIND+KIND...]]"

#: First-layer kernels hold at most about this many weights (a wider layer is halved).
PARAM_BUDGET = 51_200
#: A task's `step_cost` (parameter-equivalents) is kept within this, 3.4 times the paper's MLP's.
COST_BUDGET = 56_000
#: Forward multiply-adds per example x batch that cost as much as one parameter in a
#: meta-training step (fitted on CPU: the learned rule's per-parameter work dominates dense
#: models; convolutions and recurrences cost more per multiply-add).
MACS_PER_PARAM = {"conv": 200, "rnn": 2500}
DENSE_MACS_PER_PARAM = 5000
TRAIN_SIZES = (2048, 3072, 4096)
TEST_SIZE = 1000
BATCH_SIZES = (16, 32, 64, 128, 256)
ACTIVATIONS = ("sigmoid", "relu", "tanh", "gelu")
DATASETS = ("mnist", "fashion_mnist", "cifar10")
#: Image sides per dataset and kind (the MNISTs are 28x28, CIFAR 32x32x3).
SIDES = {
    "mlp": {"mnist": (28, 14, 8), "fashion_mnist": (28, 14, 8), "cifar10": (32, 16, 8)},
    "logreg": {"mnist": (28, 14, 8), "fashion_mnist": (28, 14, 8), "cifar10": (32, 16, 8)},
    "conv": {"mnist": (28, 14), "fashion_mnist": (28, 14), "cifar10": (16,)},
    "rnn": {"mnist": (14, 8), "fashion_mnist": (14, 8), "cifar10": (16, 8)},
    "autoencoder": {"mnist": (28, 14, 8), "fashion_mnist": (28, 14, 8), "cifar10": (16, 8)},
    "regression": {"mnist": (28, 14, 8), "fashion_mnist": (28, 14, 8), "cifar10": (16, 8)},
    "regions": {"mnist": (28, 14, 8), "fashion_mnist": (28, 14, 8), "cifar10": (16, 8)},
}
#: Kinds whose step is costlier per example get smaller batches.
MAX_BATCH = {"conv": 64, "rnn": 128}
_SALT = 0xFA1117  # keeps family draws apart from every other seed in the package


# -- names ------------------------------------------------------------------------


def task_name(kind, seed):
    """`family/<kind>/<seed>`."""
    _check_kind(kind)
    return f"{PREFIX}{kind}/{int(seed)}"


def parse_name(name):
    """`(kind, seed)` of a name `family/<kind>/<seed>`."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] + "/" != PREFIX or not parts[2].isdigit():
        raise ValueError(f"A family task is spelled {NAME_PATTERN}, got {name!r}.")
    _check_kind(parts[1])
    return parts[1], int(parts[2])


def family_names(count, seed=0, kinds=KINDS):
    """`count` distinct task names drawn deterministically from `seed`.

    Kinds take turns: every round of `len(kinds)` names holds each entry of
    `kinds` once, in an order shuffled per round, so any `count >= len(kinds)`
    covers every kind and consecutive names (a `MetaTrainer` group with
    `tasks_per_step`) mix kinds. Repeat a kind in `kinds` to weight it. Task
    seeds are distinct, below 100,000.
    """
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds must name at least one kind.")
    for kind in kinds:
        _check_kind(kind)
    if not 0 <= int(count) <= 100_000:
        raise ValueError(f"count must be between 0 and 100,000, got {count}.")
    rng = np.random.default_rng([_SALT, int(seed)])
    names, used = [], set()
    while len(names) < count:
        for index in np.argsort(rng.random(len(kinds)), kind="stable"):
            if len(names) == count:
                break
            task_seed = int(rng.random() * 100_000)
            while task_seed in used:
                task_seed = int(rng.random() * 100_000)
            used.add(task_seed)
            names.append(task_name(kinds[index], task_seed))
    return names


def expand(text):
    """The names of `family:N[:SEED[:KIND+KIND...]]` (SEED 0 and all kinds by default).

    E.g. ``family:12`` or ``family:12:3:mlp+conv+rnn``; for the command line's
    ``--problem`` list.
    """
    if not text.startswith(SPEC_PREFIX):
        raise ValueError(f"A family sample is spelled {SPEC_PATTERN}, got {text!r}.")
    parts = text[len(SPEC_PREFIX):].split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts[:2]):
        raise ValueError(f"A family sample is spelled {SPEC_PATTERN}, got {text!r}.")
    kinds = parts[2].split("+") if len(parts) == 3 else KINDS
    return family_names(int(parts[0]), int(parts[1]) if len(parts) > 1 else 0, kinds)


def sample_tasks(count, seed=0, data_dir=None, kinds=KINDS):
    """The problems of `family_names(count, seed, kinds)`, each named by its name."""
    return [build(name, data_dir) for name in family_names(count, seed, kinds)]


# -- specifications -----------------------------------------------------------------


def task_spec(kind, seed):
    """Everything that defines task `family/<kind>/<seed>`, as a dict (no data loaded)."""
    _check_kind(kind)
    rng = np.random.default_rng([_SALT, zlib.crc32(kind.encode()), int(seed)])
    dataset = _pick(rng, DATASETS)
    spec = {
        "kind": kind,
        "seed": int(seed),
        "dataset": dataset,
        "side": _pick(rng, SIDES[kind][dataset]),
        "train": _pick(rng, TRAIN_SIZES),
        "batch_size": _pick(rng, [b for b in BATCH_SIZES if b <= MAX_BATCH.get(kind, 256)]),
        "input_scale": float(np.exp(2.0 * rng.random() - 1.0)),
    }
    inputs = spec["side"] ** 2 * (3 if dataset == "cifar10" else 1)
    if kind == "mlp":
        depth = 1 + int(rng.random() * 3)
        widths = [_pick(rng, (16, 32, 64, 128)) for _ in range(depth)]
        spec.update(hidden=_fit_budget(widths, inputs), activation=_pick(rng, ACTIVATIONS))
    elif kind == "conv":
        spec.update(
            channels=[_pick(rng, (8, 16)) for _ in range(1 + int(rng.random() * 2))],
            activation=_pick(rng, ("relu",)),  # GELU on conv maps: up to 2x slower steps
            dense=_pick(rng, (0, 32)),
        )
        pooled = (spec["side"] >> len(spec["channels"])) ** 2 * spec["channels"][-1]
        if pooled * spec["dense"] > PARAM_BUDGET / 2:
            spec["dense"] = 0  # a large pooled map goes straight to the logits
    elif kind == "rnn":
        spec.update(cell=_pick(rng, ("SimpleRNN", "GRU")), units=_pick(rng, (16, 24, 32)))
    elif kind == "autoencoder":
        hidden = _pick(rng, (0, 32, 64, 128))
        bottleneck = _pick(rng, (16, 24, 32))
        spec.update(
            hidden=_fit_budget([hidden], inputs, 0.5)[0] if hidden else 0,
            bottleneck=bottleneck,
            activation=_pick(rng, ACTIVATIONS),
            loss=_pick(rng, ("mse", "sigmoid_cross_entropy")),
        )
    elif kind == "regression":
        depth = 1 + int(rng.random() * 2)
        widths = [_pick(rng, (16, 32, 64)) for _ in range(depth)]
        spec.update(
            hidden=_fit_budget(widths, inputs),
            activation=_pick(rng, ACTIVATIONS),
            targets=1 + int(rng.random() * 4),
            target_fn=_pick(rng, ("linear", "tanh", "abs")),
        )
    elif kind == "regions":
        depth = int(rng.random() * 3)
        widths = [_pick(rng, (16, 32, 64)) for _ in range(depth)]
        spec.update(
            hidden=_fit_budget(widths, inputs),
            activation=_pick(rng, ACTIVATIONS),
            grid=_pick(rng, (2, 3, 4)),
        )
    _fit_cost(spec)
    return spec


def _fit_cost(spec):
    """Halve the batch (while its multiply-adds are a quarter of the cost or more), else the
    widest layer (`_shrink_widest`), else the batch, until `step_cost` is within `COST_BUDGET`
    (or the batch is 16 and nothing is left to shrink)."""
    while step_cost(spec) > COST_BUDGET:
        params, _ = model_size(spec)
        if spec["batch_size"] > 16 and step_cost(spec) - params >= COST_BUDGET / 4:
            spec["batch_size"] //= 2
        elif not _shrink_widest(spec):
            if spec["batch_size"] == 16:
                return
            spec["batch_size"] //= 2


def _shrink_widest(spec):
    """Halve the widest hidden layer (a conv net: drop its dense head, else halve its widest
    convolution); False if there is none to shrink."""
    if spec["kind"] == "conv":
        if spec["dense"]:
            spec["dense"] = 0
            return True
        channels = spec["channels"]
        if max(channels) < 16:
            return False
        widest = channels.index(max(channels))
        spec["channels"] = channels[:widest] + [channels[widest] // 2] + channels[widest + 1:]
        return True
    hidden = spec.get("hidden")
    if isinstance(hidden, list) and hidden and max(hidden) >= 32:
        widest = hidden.index(max(hidden))
        spec["hidden"] = hidden[:widest] + [hidden[widest] // 2] + hidden[widest + 1:]
        return True
    if isinstance(hidden, int) and hidden >= 2 * spec["bottleneck"]:
        spec["hidden"] = hidden // 2
        return True
    return False


def model_size(spec):
    """`(parameters, multiply-adds per example)` of a spec's model (forward pass)."""
    channels = 3 if spec["dataset"] == "cifar10" else 1
    inputs, kind = spec["side"] ** 2 * channels, spec["kind"]
    if kind == "conv":
        side, previous, params, macs = spec["side"], channels, 0, 0
        for filters in spec["channels"]:
            params += 9 * previous * filters + 3 * filters  # kernel, bias, batch norm
            macs += side * side * 9 * previous * filters
            side, previous = side // 2, filters
        sizes = [side * side * previous] + ([spec["dense"]] if spec["dense"] else []) + [10]
    elif kind == "rnn":
        gates = 3 if spec["cell"] == "GRU" else 1
        units, row = spec["units"], spec["side"] * channels
        biases = 2 if spec["cell"] == "GRU" else 1  # Keras' GRU: reset_after, two biases
        params = gates * (row + units + biases) * units
        macs = spec["side"] * gates * (row + units) * units
        sizes = [units, 10]
    else:
        params = macs = 0
        sizes = {
            "mlp": lambda: [inputs, *spec["hidden"], 10],
            "logreg": lambda: [inputs, 10],
            "regression": lambda: [inputs, *spec["hidden"], spec["targets"]],
            "regions": lambda: [inputs, *spec["hidden"], spec["grid"] ** 2],
            "autoencoder": lambda: [s for s in (inputs, spec["hidden"], spec["bottleneck"],
                                                spec["hidden"], inputs) if s],
        }[kind]()
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += (fan_in + 1) * fan_out
        macs += fan_in * fan_out
    return params, macs


def step_cost(spec):
    """A meta-training step's cost in parameter-equivalents: parameters + batch x forward
    multiply-adds / `MACS_PER_PARAM`. The paper's MNIST MLP (784-20-10, batch 128): 16,317."""
    params, macs = model_size(spec)
    per_param = MACS_PER_PARAM.get(spec["kind"], DENSE_MACS_PER_PARAM)
    return params + spec["batch_size"] * macs / per_param


def describe(spec):
    """One line of words for a spec (a problem's `description`)."""
    kind, side = spec["kind"], spec["side"]
    data = f"{spec['dataset']} {side}x{side}"
    if kind == "mlp":
        model = f"MLP {'-'.join(map(str, spec['hidden']))} {spec['activation']}"
    elif kind == "logreg":
        model = "logistic regression"
    elif kind == "conv":
        dense = f", dense {spec['dense']}" if spec["dense"] else ""
        model = (f"conv 3x3 {'-'.join(map(str, spec['channels']))} + batch norm + "
                 f"{spec['activation']} + max pool{dense}")
    elif kind == "rnn":
        model = f"{spec['cell']}({spec['units']}) over image rows"
    elif kind == "autoencoder":
        inputs = side * side * (3 if spec["dataset"] == "cifar10" else 1)
        sizes = [inputs, spec["hidden"], spec["bottleneck"], spec["hidden"], inputs]
        model = (f"dense autoencoder {'-'.join(str(s) for s in sizes if s)} "
                 f"{spec['activation']}, {spec['loss']}")
    elif kind == "regression":
        model = (f"MLP {'-'.join(map(str, spec['hidden']))} {spec['activation']} regressing "
                 f"{spec['targets']} {spec['target_fn']} random projections, MSE")
    else:
        net = (f"MLP {'-'.join(map(str, spec['hidden']))} {spec['activation']}"
               if spec["hidden"] else "linear model")
        grid = f"{spec['grid']}x{spec['grid']}"
        model = f"{net} regressing the mean intensities of a {grid} grid of regions, MSE"
    return (f"{kind}: {data}, {model}; batch {spec['batch_size']}, {spec['train']:,} images, "
            f"inputs x{spec['input_scale']:.3g}")


def _pick(rng, options):
    options = tuple(options)
    return options[min(int(rng.random() * len(options)), len(options) - 1)]


def _fit_budget(widths, inputs, share=1.0):
    """The widths with the first halved until `inputs * width` fits the budget (min 16)."""
    widths = list(widths)
    while widths and widths[0] > 16 and inputs * widths[0] > PARAM_BUDGET * share:
        widths[0] //= 2
    return widths


def _check_kind(kind):
    if kind not in KINDS + EXTRA_KINDS:
        raise ValueError(
            f"Unknown family kind {kind!r}; kinds: {', '.join(KINDS + EXTRA_KINDS)}."
        )


# -- building -----------------------------------------------------------------------


def build(name, data_dir=None):
    """The `KerasProblem` of `family/<kind>/<seed>`, named `name`, with its `description`
    and `family_spec`."""
    kind, seed = parse_name(name)
    spec = task_spec(kind, seed)
    problem = _BUILDERS[kind](spec, data_dir)
    problem.name = name
    problem.family_spec = spec
    problem.description = describe(spec)
    return problem


@functools.lru_cache(maxsize=None)
def _raw(dataset, data_dir):
    """uint8 arrays of a dataset, read once per process (tasks share them)."""
    return datasets.load(dataset, data_dir)


def _images(spec, data_dir, test=TEST_SIZE):
    """`(x, y), (x_test, y_test)`: the task's subsamples at its size, float32 in [0, 1].

    Images keep a channel axis, `(N, side, side, C)`; unscaled (see `_scaled`).
    """
    (x, y), (x_test, y_test) = _raw(spec["dataset"], None if data_dir is None else str(data_dir))
    rng = np.random.default_rng([_SALT, zlib.crc32(spec["kind"].encode()), spec["seed"], 1])
    pick = np.sort(np.argsort(rng.random(len(x)), kind="stable")[: spec["train"]])
    pick_test = np.sort(np.argsort(rng.random(len(x_test)), kind="stable")[:test])

    def prepare(images, labels, index):
        images = images[index].astype(np.float32) / 255.0
        if images.ndim == 3:
            images = images[..., None]
        if images.shape[1] != spec["side"]:
            images = tf.image.resize(images, (spec["side"],) * 2, method="area").numpy()
        return images, np.asarray(labels[index]).reshape(-1).astype(np.int32)

    return prepare(x, y, pick), prepare(x_test, y_test, pick_test)


def _scaled(x, spec):
    return (x * np.float32(spec["input_scale"])).astype(np.float32)


def _classifier(model, spec, data_dir):
    (x, y), (x_test, y_test) = _images(spec, data_dir)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    problem = KerasProblem(model, loss, _scaled(x, spec), y, batch_size=spec["batch_size"],
                           test_data=(_scaled(x_test, spec), y_test))
    problem.loss_label = "cross-entropy (nats)"
    return problem


def _input_shape(spec):
    return (spec["side"], spec["side"], 3 if spec["dataset"] == "cifar10" else 1)


def _dense_stack(widths, activation):
    return [layers.Dense(w, activation=activation) for w in widths]


def _mlp(spec, data_dir):
    model = keras.Sequential([
        keras.Input(_input_shape(spec)), layers.Flatten(),
        *_dense_stack(spec["hidden"], spec["activation"]), layers.Dense(10),
    ])
    return _classifier(model, spec, data_dir)


def _logreg(spec, data_dir):
    model = keras.Sequential([keras.Input(_input_shape(spec)), layers.Flatten(), layers.Dense(10)])
    return _classifier(model, spec, data_dir)


def _conv(spec, data_dir):
    stack = []
    for channels in spec["channels"]:
        stack += [layers.Conv2D(channels, 3, padding="same"), layers.BatchNormalization(),
                  layers.Activation(spec["activation"]), layers.MaxPooling2D(2)]
    head = [layers.Dense(spec["dense"], activation="relu")] if spec["dense"] else []
    model = keras.Sequential([keras.Input(_input_shape(spec)), *stack, layers.Flatten(),
                              *head, layers.Dense(10)])
    return _classifier(model, spec, data_dir)


def _rnn(spec, data_dir):
    side, channels = spec["side"], _input_shape(spec)[2]
    cell = getattr(layers, spec["cell"])
    model = keras.Sequential([
        keras.Input(_input_shape(spec)), layers.Reshape((side, side * channels)),
        cell(spec["units"], unroll=True), layers.Dense(10),
    ])
    return _classifier(model, spec, data_dir)


def _autoencoder(spec, data_dir):
    (x, _), _ = _images(spec, data_dir, test=0)
    x = x.reshape(len(x), -1)
    hidden = _dense_stack([spec["hidden"]] if spec["hidden"] else [], spec["activation"])
    decoder = _dense_stack([spec["hidden"]] if spec["hidden"] else [], spec["activation"])
    mse = spec["loss"] == "mse"
    model = keras.Sequential([
        keras.Input((x.shape[1],)), *hidden,
        layers.Dense(spec["bottleneck"], activation=spec["activation"]), *decoder,
        layers.Dense(x.shape[1], activation="sigmoid" if mse else None),
    ])
    loss = "mse" if mse else keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
    problem = KerasProblem(model, loss, _scaled(x, spec), x, batch_size=spec["batch_size"])
    problem.loss_label = (
        "mean squared reconstruction error (pixels in [0, 1])" if mse
        else "sigmoid cross-entropy of the reconstruction (nats per pixel)"
    )
    return problem


def _regression(spec, data_dir):
    (x, _), _ = _images(spec, data_dir, test=0)
    x = x.reshape(len(x), -1)
    model = keras.Sequential([
        keras.Input((x.shape[1],)), *_dense_stack(spec["hidden"], spec["activation"]),
        layers.Dense(spec["targets"]),
    ])
    problem = KerasProblem(model, "mse", _scaled(x, spec), projection_targets(x, spec),
                           batch_size=spec["batch_size"])
    problem.loss_label = "mean squared error of standardized targets"
    return problem


def projection_targets(x, spec):
    """`[N, targets]`: random projections of the centred pixels, through `target_fn`,
    standardized to mean 0 and variance 1 over the training subsample."""
    rng = np.random.default_rng([_SALT, zlib.crc32(b"regression"), spec["seed"], 2])
    directions = (rng.random((x.shape[1], spec["targets"])) - 0.5) * math.sqrt(12.0 / x.shape[1])
    z = (x - x.mean(axis=0)) @ directions
    z = z / (z.std(axis=0) + 1e-6)
    z = {"linear": z, "tanh": np.tanh(z), "abs": np.abs(z)}[spec["target_fn"]]
    return ((z - z.mean(axis=0)) / (z.std(axis=0) + 1e-6)).astype(np.float32)


def _regions(spec, data_dir):
    (x, _), _ = _images(spec, data_dir, test=0)
    model = keras.Sequential([
        keras.Input((x[0].size,)), *_dense_stack(spec["hidden"], spec["activation"]),
        layers.Dense(spec["grid"] ** 2),
    ])
    problem = KerasProblem(model, "mse", _scaled(x.reshape(len(x), -1), spec),
                           region_targets(x, spec["grid"]), batch_size=spec["batch_size"])
    problem.loss_label = "mean squared error of standardized targets"
    return problem


def region_targets(images, grid):
    """`[N, grid**2]`: each image's mean intensity (over channels too) in each cell of a
    `grid` x `grid` partition (cells differ by at most one pixel a side), standardized to
    mean 0 and variance 1 over the images."""
    edges = np.linspace(0, images.shape[1], grid + 1).round().astype(int)
    cells = [
        images[:, top:bottom, left:right].mean(axis=(1, 2, 3))
        for top, bottom in zip(edges[:-1], edges[1:])
        for left, right in zip(edges[:-1], edges[1:])
    ]
    z = np.stack(cells, axis=1)
    return ((z - z.mean(axis=0)) / (z.std(axis=0) + 1e-6)).astype(np.float32)


_BUILDERS = {
    "mlp": _mlp, "logreg": _logreg, "conv": _conv, "rnn": _rnn,
    "autoencoder": _autoencoder, "regression": _regression, "regions": _regions,
}
