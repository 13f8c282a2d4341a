"""keras_l2l: learned optimizers (Andrychowicz et al. 2016) for Keras 3."""

__version__ = "0.1.0"

from keras_l2l import callbacks, datasets, problems, rules
from keras_l2l.meta import MetaTrainer
from keras_l2l.optimizer import LearnedOptimizer
from keras_l2l.trained_rule import TrainedRule
from keras_l2l.presets import list_presets
from keras_l2l.rules import CoordinatewiseLSTM, UpdateRule
