"""The thin backend layer under the rules: what `keras.ops` spells differently than TF did.

The rules, the preprocessing and the flat layout are written once, in
`keras.ops`, so they run on every Keras backend (TensorFlow, JAX, PyTorch).
On TensorFlow, `keras.ops` are TF ops, so the meta-trainer differentiates
through the rules with `tf.GradientTape` and compiles them with XLA as before.

The helpers here cover the few places where `keras.ops` would add work on
TensorFlow or lose static shapes (`keras.ops.take` wraps negative indices with
an extra pass over the index vector; `keras.ops.split` takes cut points and
builds the sizes as a tensor): on TensorFlow they are the exact TF ops the
rules used before, elsewhere `keras.ops` or plain indexing. Nothing here
depends on a backend being installed except the one in use.
"""

import keras
import numpy as np
from keras import ops


def is_tensorflow():
    """Whether Keras runs on TensorFlow (the backend is fixed when Keras is imported)."""
    return keras.backend.backend() == "tensorflow"


def constant(value, dtype="float32"):
    """A backend tensor of `value` (numpy, nested lists, numbers) in `dtype` (any backend's)."""
    dtype = dtype_name(dtype)
    try:
        value = np.asarray(value, dtype=dtype)  # rounded once, as tf.constant does
    except TypeError:  # a dtype numpy does not know (bfloat16 without ml_dtypes)
        return ops.cast(ops.convert_to_tensor(np.asarray(value, np.float32)), dtype)
    return ops.convert_to_tensor(value, dtype=dtype)


def num_rows(x):
    """The size of `x`'s first axis: a Python int when static (always, outside TF graphs)."""
    size = x.shape[0]
    if size is not None:
        return int(size)
    import tensorflow as tf  # only TF traces with unknown shapes

    return tf.shape(x)[0]


def tile_rows(row, k):
    """`k` copies of the vector `row` as a `[k, len(row)]` matrix."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.tile(row[None], [k, 1])
    return ops.tile(row[None], [k, 1])


def gather_rows(x, indices):
    """`x[indices]` along axis 0 (`indices` non-negative)."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.gather(x, indices)
    return ops.take(x, indices, axis=0)


def segment_sum(data, segment_ids, num_segments):
    """Sum of the rows of `data` per segment id (ids unsorted), `num_segments` rows."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.math.unsorted_segment_sum(data, segment_ids, num_segments)
    return ops.segment_sum(data, segment_ids, num_segments=num_segments, sorted=False)


def narrow_matmul(x, kernel):
    """`x @ kernel`, faster inside XLA when `kernel` has at most 64 entries (the
    per-parameter MLP's).

    Inside a TensorFlow XLA cluster such a product is a broadcast multiply and
    a sum over the kernel's rows, which XLA fuses with its neighbours into one
    loop over `x`'s rows: at these shapes XLA's CPU dot costs more than the
    arithmetic (results/speed-memory/narrow_matmul.md); for wider kernels the
    fused loop loses to the dot, hence the bound. Elsewhere it is a plain
    matmul, since without fusion the broadcast would materialise
    `rows x in x out` floats.
    """
    if is_tensorflow() and int(np.prod(kernel.shape)) <= 64 and in_xla_context():
        return ops.sum(x[:, :, None] * kernel[None], axis=1)
    return ops.matmul(x, kernel)


def in_xla_context():
    """Whether TensorFlow ops are being traced into an XLA cluster (`jit_compile=True`)."""
    import tensorflow as tf

    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - private module moved
        return False
    graph = tf.compat.v1.get_default_graph()
    return bool(control_flow_util.GraphOrParentsInXlaContext(graph))


def split_sizes(x, sizes):
    """Split `x` along axis 0 into pieces of the given (static) sizes."""
    sizes = [int(s) for s in sizes]
    if is_tensorflow():
        import tensorflow as tf

        return tf.split(x, sizes)
    starts = np.cumsum([0] + sizes)
    return [x[int(a) : int(b)] for a, b in zip(starts[:-1], starts[1:])]


def sum_of_squares(x):
    """`sum(x ** 2)` over all elements (TF's L2Loss kernel: no temporary the size of `x`)."""
    if is_tensorflow():
        import tensorflow as tf

        return 2.0 * tf.nn.l2_loss(x)
    return ops.sum(ops.square(x))


def bias_add(x, bias):
    """`x + bias` over the last axis (TF's BiasAdd on TensorFlow, which can fuse with MatMul)."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.nn.bias_add(x, bias)
    return x + bias


def dtype_name(dtype):
    """A backend dtype (or its name) as Keras' standard name, e.g. "float32"."""
    return keras.backend.standardize_dtype(dtype)


def is_floating(dtype):
    """Whether a backend dtype is a floating-point type."""
    return keras.backend.is_float_dtype(dtype_name(dtype))
