"""Optimizees: pure (init, batch, loss) functions for meta-training and evaluation."""

from keras_l2l.problems.base import Problem
from keras_l2l.problems.conv import ConvNet, paper_convnet
from keras_l2l.problems.family import family_names, sample_tasks
from keras_l2l.problems.keras_problem import KerasProblem
from keras_l2l.problems.mlp import MLP
from keras_l2l.problems.quadratic import Quadratic
from keras_l2l.problems.registry import PROBLEMS, get_problem
from keras_l2l.problems.style_transfer import StyleTransfer
