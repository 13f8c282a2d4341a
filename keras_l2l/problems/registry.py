"""Named problems for the command line, results and presets."""

from keras_l2l import tfds_data
from keras_l2l.problems import family, style_transfer
from keras_l2l.problems.conv import ConvNet
from keras_l2l.problems.mlp import MLP
from keras_l2l.problems.quadratic import Quadratic
from keras_l2l.problems.suite_tasks import TASKS, build_task

PROBLEMS = {
    "quadratic": lambda data_dir: Quadratic(),
    "quadratic-batch": lambda data_dir: Quadratic(num_problems=128),
    "mnist": lambda data_dir: MLP("mnist", data_dir=data_dir),
    "mnist-40": lambda data_dir: MLP("mnist", hidden=(40,), data_dir=data_dir),
    "mnist-2layer": lambda data_dir: MLP("mnist", hidden=(20, 20), data_dir=data_dir),
    "mnist-relu": lambda data_dir: MLP("mnist", activation="relu", data_dir=data_dir),
    "fashion-mnist": lambda data_dir: MLP("fashion_mnist", data_dir=data_dir),
    "mnist-conv": lambda data_dir: ConvNet("mnist", data_dir=data_dir),
    "cifar10-conv": lambda data_dir: ConvNet("cifar10", data_dir=data_dir),
    "cifar5-conv": lambda data_dir: ConvNet("cifar10", classes=range(5), data_dir=data_dir),
    "cifar2-conv": lambda data_dir: ConvNet("cifar10", classes=(5, 6), data_dir=data_dir),
}


MLP_PATTERN = "mlp/DATASET/HIDDEN/ACTIVATION/bBATCH"


def get_problem(name, data_dir=None):
    """The problem registered as `name` (see `PROBLEMS`), an MLP spelled out by name,
    a TFDS dataset's paper MLP, a held-out suite task `suite/TASK` (see
    `suite_tasks.SUITE`), a meta-training family task `family/KIND/SEED`
    (see `keras_l2l.problems.family`; `family.expand("family:N[:SEED]")` gives
    the names of a sample), or a style transfer `style/CONTENT/STYLE/SIZE[/NETWORK]`
    (see `keras_l2l.problems.style_transfer`, e.g. `style/train/ihc/64`).

    `mlp/DATASET/HIDDEN/ACTIVATION/bBATCH`, e.g. `mlp/fashion_mnist/64-32/gelu/b32`;
    an empty HIDDEN (`mlp/mnist//sigmoid/b128`) is logistic regression. DATASET
    is mnist, fashion_mnist, cifar10, or a TFDS image-classification dataset
    `tfds:NAME[:SPLIT]` (`mlp/tfds:cifar100/64/relu/b128`,
    `mlp/tfds:emnist/letters:train[:50%]/32/gelu/b64`; see `keras_l2l.tfds_data`),
    read from `data_dir` as a prepared TFDS data directory. `tfds:NAME[:SPLIT]`
    alone is the paper's MLP (20 sigmoid units, batch 128) on it.
    """
    try:
        problem = _build(name, data_dir)
    except tfds_data.TFDSDataError as exc:
        raise type(exc)(f"Problem {name!r}: {exc}") from exc
    problem.name = name
    return problem


def _build(name, data_dir):
    if name.startswith("mlp/"):
        problem = _mlp_from_name(name, data_dir)
    elif tfds_data.is_tfds(name):
        problem = MLP(name, data_dir=data_dir)
    elif name.startswith("suite/"):
        problem = build_task(name[len("suite/"):], data_dir)
    elif name.startswith(family.PREFIX):
        problem = family.build(name, data_dir)
    elif name.startswith("style/"):
        problem = style_transfer.StyleTransfer(**style_transfer.parse_name(name))
    elif name.startswith(family.SPEC_PREFIX):
        raise ValueError(
            f"{name!r} is a sample of several family tasks, not one problem: "
            f"keras_l2l.problems.family.expand({name!r}) lists their names."
        )
    elif name in PROBLEMS:
        problem = PROBLEMS[name](data_dir)
    else:
        raise ValueError(
            f"Unknown problem {name!r}; available: {sorted(PROBLEMS)}, {MLP_PATTERN} "
            f"(DATASET may be {tfds_data.SPELLING}), {tfds_data.SPELLING}, "
            f"suite/TASK with TASK one of {', '.join(TASKS)}, {family.NAME_PATTERN} "
            f"with KIND one of {', '.join(family.KINDS + family.EXTRA_KINDS)}, or {style_transfer.NAME_PATTERN}."
        )
    return problem


def _mlp_from_name(name, data_dir):
    parts = name.split("/")
    # Read from the right: a TFDS DATASET may hold a '/' (tfds:emnist/letters).
    tfds_dataset = len(parts) > 5 and tfds_data.is_tfds(parts[1])
    if (
        (len(parts) != 5 and not tfds_dataset)
        or not parts[-1].startswith("b")
        or not parts[-1][1:].isdigit()
    ):
        raise ValueError(
            f"An MLP problem is spelled {MLP_PATTERN} (DATASET may be {tfds_data.SPELLING}), "
            f"got {name!r}."
        )
    dataset, (hidden, activation, batch) = "/".join(parts[1:-3]), parts[-3:]
    try:
        sizes = tuple(int(h) for h in hidden.split("-")) if hidden else ()
    except ValueError:
        raise ValueError(f"HIDDEN in {name!r} must be sizes joined by '-', e.g. 64-32.") from None
    return MLP(dataset, hidden=sizes, activation=activation, batch_size=int(batch[1:]),
               data_dir=data_dir)
