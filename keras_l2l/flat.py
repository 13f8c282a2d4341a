"""Flattening a list of tensors into one coordinate vector and back.

Every rule works on one flat vector of all coordinates; this is the single
place that maps a model's variables onto it.
"""

import math

import tensorflow as tf


def sizes_of(shapes):
    return [math.prod(shape) for shape in shapes]


def flatten(tensors):
    """Concatenate flattened tensors into one float32 vector."""
    return tf.concat([tf.reshape(tf.cast(t, tf.float32), [-1]) for t in tensors], 0)


def unflatten(vector, shapes):
    """Split a flat vector back into tensors of `shapes`."""
    pieces = tf.split(vector, sizes_of(shapes))
    return [tf.reshape(piece, shape) for piece, shape in zip(pieces, shapes)]
