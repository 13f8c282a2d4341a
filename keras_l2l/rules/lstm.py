"""The coordinatewise LSTM optimizer of Andrychowicz et al. (2016)."""

import numpy as np
from keras import ops

from keras_l2l import preprocessing as prep
from keras_l2l.rules import backend_ops
from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.registry import register_rule


CELLS = ("lstm", "gru", "mlp")


@register_rule
class CoordinatewiseLSTM(UpdateRule):
    """A stacked LSTM applied to every coordinate independently, weights shared.

    Each coordinate's preprocessed gradient goes through `num_layers` LSTM
    layers of `units` cells (with its own `(h, c)` per layer) and a linear
    output layer; the result times `output_scale` is the update. All
    coordinates form one batch, so each layer is a single large matmul
    `[n, in + units] @ [in + units, 4 * units]`. Gate order is Keras' (i, f, c, o).
    Written once in `keras.ops`: the same rule runs on every Keras backend.

    `cell` swaps the recurrent cell and nothing else (preprocessing, output
    layer, output scale and initialisation stay), so an ablation changes one
    factor: "lstm" (the paper's, the default), "gru" (Cho et al. 2014: gates
    `z, r = sigmoid([x, h] W_zr + b_zr)`, candidate
    `tanh([x, r * h] W_c + b_c)`, `h' = z * h + (1 - z) * candidate`, Keras'
    convention) or "mlp" (`h = tanh(x W + b)` per layer: the same layers with
    no memory; its only state is the preprocessing's).
    """

    coordinatewise = True

    def __init__(
        self,
        units=20,
        num_layers=2,
        preprocessing="log_sign",
        preprocessing_p=10.0,
        output_scale=0.1,
        cell="lstm",
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
        if cell not in CELLS:
            raise ValueError(f"Unknown cell {cell!r}; expected one of {CELLS}.")
        self.units = int(units)
        self.num_layers = int(num_layers)
        self.preprocessing = preprocessing
        self.preprocessing_p = float(preprocessing_p)
        self.output_scale = float(output_scale)
        self.cell = cell

    def meta_param_shapes(self):
        """`{name: shape}` in a fixed order (the order Keras saves them in)."""
        shapes = {}
        inputs = prep.num_features(self.preprocessing)
        u = self.units
        for i in range(self.num_layers):
            if self.cell == "lstm":
                shapes[f"lstm{i}_kernel"] = (inputs + u, 4 * u)
                shapes[f"lstm{i}_bias"] = (4 * u,)
            elif self.cell == "gru":
                shapes[f"gru{i}_gates_kernel"] = (inputs + u, 2 * u)
                shapes[f"gru{i}_gates_bias"] = (2 * u,)
                shapes[f"gru{i}_candidate_kernel"] = (inputs + u, u)
                shapes[f"gru{i}_candidate_bias"] = (u,)
            else:
                shapes[f"mlp{i}_kernel"] = (inputs, u)
                shapes[f"mlp{i}_bias"] = (u,)
            inputs = u
        shapes["output_kernel"] = (u, 1)
        shapes["output_bias"] = (1,)
        return shapes

    def init_meta_params(self, seed=0):
        """Glorot-uniform kernels, zero biases, LSTM forget-gate biases at 1."""
        return init_lstm_meta_params(self.meta_param_shapes(), self.units, seed)

    def init_state(self, num_coordinates):
        state = prep.init_state(self.preprocessing, num_coordinates)
        zeros = ops.zeros([num_coordinates, self.units], dtype="float32")
        for i in range(self.num_layers if self.cell != "mlp" else 0):
            state[f"{self.cell}{i}_h"] = zeros
            if self.cell == "lstm":
                state[f"lstm{i}_c"] = zeros
        return state

    def __call__(self, meta_params, grads, state):
        x, new_state = prep.preprocess_step(
            grads, self.preprocessing, self.preprocessing_p, state
        )
        layer = {"lstm": _lstm_layer, "gru": _gru_layer, "mlp": _mlp_layer}[self.cell]
        for i in range(self.num_layers):
            x = layer(meta_params, state, new_state, f"{self.cell}{i}", x)
        out = ops.matmul(x, meta_params["output_kernel"]) + meta_params["output_bias"]
        return self.output_scale * out[:, 0], new_state

    def get_config(self):
        """The constructor arguments; `cell` only when not "lstm", so configs of the
        paper's rule are written exactly as before `cell` existed (and older versions
        of keras_l2l still load them)."""
        config = {
            "units": self.units,
            "num_layers": self.num_layers,
            "preprocessing": self.preprocessing,
            "preprocessing_p": self.preprocessing_p,
            "output_scale": self.output_scale,
        }
        return config if self.cell == "lstm" else {**config, "cell": self.cell}


# One layer of each cell: `(meta_params, state, new_state, name, x) -> output`,
# reading the layer's state under `name` and writing its new state to `new_state`.


def _lstm_layer(meta_params, state, new_state, name, x):
    h, c = lstm_cell(
        ops.concatenate([x, state[f"{name}_h"]], axis=1),
        meta_params[f"{name}_kernel"],
        meta_params[f"{name}_bias"],
        state[f"{name}_c"],
    )
    new_state[f"{name}_h"], new_state[f"{name}_c"] = h, c
    return h


def lstm_cell(inputs, kernel, bias, c):
    """`(h, c)` of one LSTM step from `inputs` = [x, h] (Keras gate order i, f, c, o)."""
    # All four gates go through one sigmoid: the candidate's columns are scaled by 2
    # so that tanh(z) = 2 sigmoid(2 z) - 1. One large elementwise op instead of four on
    # column slices is faster (and in a graph, MatMul + BiasAdd + Sigmoid can fuse into
    # one kernel). One product per gate would skip the split's copy: 10-23% faster
    # forward, but meta-training 11% slower (results/speed-memory/lstm_gates.md).
    units = kernel.shape[1] // 4
    scale = backend_ops.constant([1.0] * (2 * units) + [2.0] * units + [1.0] * units, kernel.dtype)
    z = ops.matmul(inputs, kernel * scale)
    gates = ops.sigmoid(backend_ops.bias_add(z, bias * scale))
    in_gate, forget_gate, candidate, out_gate = ops.split(gates, 4, axis=1)
    c = forget_gate * c + in_gate * (2.0 * candidate - 1.0)
    return out_gate * ops.tanh(c), c


def _gru_layer(meta_params, state, new_state, name, x):
    h = state[f"{name}_h"]
    z = ops.matmul(ops.concatenate([x, h], axis=1), meta_params[f"{name}_gates_kernel"])
    update, reset = ops.split(
        ops.sigmoid(backend_ops.bias_add(z, meta_params[f"{name}_gates_bias"])), 2, axis=1
    )
    z = ops.matmul(ops.concatenate([x, reset * h], axis=1), meta_params[f"{name}_candidate_kernel"])
    candidate = ops.tanh(backend_ops.bias_add(z, meta_params[f"{name}_candidate_bias"]))
    h = update * h + (1.0 - update) * candidate
    new_state[f"{name}_h"] = h
    return h


def _mlp_layer(meta_params, state, new_state, name, x):
    z = ops.matmul(x, meta_params[f"{name}_kernel"])
    return ops.tanh(backend_ops.bias_add(z, meta_params[f"{name}_bias"]))


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
