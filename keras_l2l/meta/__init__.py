"""Meta-training: unrolled optimization runs differentiated through the rule."""

from keras_l2l.meta.trainer import MetaTrainer
from keras_l2l.meta.weights import meta_loss_weights
