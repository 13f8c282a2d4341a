"""The coordinatewise LSTM optimizer of Andrychowicz et al. (2016)."""

import numpy as np
from keras import ops

from keras_l2l import preprocessing as prep
from keras_l2l.rules import backend_ops
from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.registry import register_rule


@register_rule
class CoordinatewiseLSTM(UpdateRule):
    """A stacked LSTM applied to every coordinate independently, weights shared.

    Each coordinate's preprocessed gradient goes through `num_layers` LSTM
    layers of `units` cells (with its own `(h, c)` per layer) and a linear
    output layer; the result times `output_scale` is the update. All
    coordinates form one batch, so each layer is a single large matmul
    `[n, in + units] @ [in + units, 4 * units]`. Gate order is Keras' (i, f, c, o).
    Written once in `keras.ops`: the same rule runs on every Keras backend.
    """

    coordinatewise = True

    def __init__(
        self,
        units=20,
        num_layers=2,
        preprocessing="log_sign",
        preprocessing_p=10.0,
        output_scale=0.1,
    ):
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"`units` must be a positive integer, got {units!r}.")
        if not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
            raise ValueError(
                f"`num_layers` must be a positive integer, got {num_layers!r}."
            )
        prep.check_kind(preprocessing)
        if not preprocessing_p > 0:
            raise ValueError(f"`preprocessing_p` must be > 0, got {preprocessing_p!r}.")
        self.units = int(units)
        self.num_layers = int(num_layers)
        self.preprocessing = preprocessing
        self.preprocessing_p = float(preprocessing_p)
        self.output_scale = float(output_scale)

    def meta_param_shapes(self):
        """`{name: shape}` in a fixed order (the order Keras saves them in)."""
        shapes = {}
        inputs = prep.num_features(self.preprocessing)
        for i in range(self.num_layers):
            shapes[f"lstm{i}_kernel"] = (inputs + self.units, 4 * self.units)
            shapes[f"lstm{i}_bias"] = (4 * self.units,)
            inputs = self.units
        shapes["output_kernel"] = (self.units, 1)
        shapes["output_bias"] = (1,)
        return shapes

    def init_meta_params(self, seed=0):
        """Glorot-uniform kernels, zero biases, forget-gate biases at 1."""
        return init_lstm_meta_params(self.meta_param_shapes(), self.units, seed)

    def init_state(self, num_coordinates):
        zeros = ops.zeros([num_coordinates, self.units], dtype="float32")
        state = {}
        for i in range(self.num_layers):
            state[f"lstm{i}_h"] = zeros
            state[f"lstm{i}_c"] = zeros
        return state

    def __call__(self, meta_params, grads, state):
        x = prep.preprocess(grads, self.preprocessing, self.preprocessing_p)
        new_state = {}
        for i in range(self.num_layers):
            h, c = state[f"lstm{i}_h"], state[f"lstm{i}_c"]
            # All four gates go through one sigmoid: the candidate's columns are
            # scaled by 2 so that tanh(z) = 2 sigmoid(2 z) - 1. One large
            # elementwise op instead of four on column slices is faster (and in
            # a graph, MatMul + BiasAdd + Sigmoid can fuse into one kernel).
            kernel = meta_params[f"lstm{i}_kernel"]
            scale = gate_scale(self.units, kernel.dtype)
            z = ops.matmul(ops.concatenate([x, h], axis=1), kernel * scale)
            gates = ops.sigmoid(backend_ops.bias_add(z, meta_params[f"lstm{i}_bias"] * scale))
            in_gate, forget_gate, candidate, out_gate = ops.split(gates, 4, axis=1)
            c = forget_gate * c + in_gate * (2.0 * candidate - 1.0)
            h = out_gate * ops.tanh(c)
            new_state[f"lstm{i}_h"], new_state[f"lstm{i}_c"] = h, c
            x = h
        out = ops.matmul(x, meta_params["output_kernel"]) + meta_params["output_bias"]
        return self.output_scale * out[:, 0], new_state

    def get_config(self):
        return {
            "units": self.units,
            "num_layers": self.num_layers,
            "preprocessing": self.preprocessing,
            "preprocessing_p": self.preprocessing_p,
            "output_scale": self.output_scale,
        }


def init_lstm_meta_params(shapes, units, seed):
    """`{name: tensor}` for LSTM meta-parameter `shapes`: Glorot-uniform kernels, zero
    biases, forget-gate biases (columns `units .. 2 units` of `lstm*_bias`) at 1."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in shapes.items():
        if name.endswith("kernel"):
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            value = rng.uniform(-limit, limit, size=shape)
        else:
            value = np.zeros(shape)
            if name.startswith("lstm"):
                value[units : 2 * units] = 1.0
        params[name] = backend_ops.constant(value)
    return params


def gate_scale(units, dtype):
    """Column scales `[4 * units]`: 1 for the (i, f, o) gates, 2 for the candidate, so one
    sigmoid serves all four gates (tanh(z) = 2 sigmoid(2 z) - 1)."""
    return backend_ops.constant([1.0] * (2 * units) + [2.0] * units + [1.0] * units, dtype)
