"""Flattening a list of tensors into one coordinate vector and back.

Every rule works on one flat vector of all coordinates; this is the single
place that maps a model's variables onto it. Written in `keras.ops` (any
Keras backend).
"""

import math

from keras import ops

from keras_l2l.rules import backend_ops


def sizes_of(shapes):
    return [math.prod(shape) for shape in shapes]


def flatten(tensors):
    """Concatenate flattened tensors into one float32 vector."""
    return ops.concatenate([ops.reshape(ops.cast(t, "float32"), [-1]) for t in tensors], 0)


def unflatten(vector, shapes):
    """Split a flat vector back into tensors of `shapes`."""
    pieces = backend_ops.split_sizes(vector, sizes_of(shapes))
    return [ops.reshape(piece, shape) for piece, shape in zip(pieces, shapes)]
