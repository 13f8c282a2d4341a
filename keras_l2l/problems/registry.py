"""Named problems for the command line, results and presets."""

from keras_l2l.problems.conv import ConvNet
from keras_l2l.problems.mlp import MLP
from keras_l2l.problems.quadratic import Quadratic

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


def get_problem(name, data_dir=None):
    """The problem registered as `name` (see `PROBLEMS`)."""
    if name not in PROBLEMS:
        raise ValueError(f"Unknown problem {name!r}; available: {sorted(PROBLEMS)}.")
    problem = PROBLEMS[name](data_dir)
    problem.name = name
    return problem
