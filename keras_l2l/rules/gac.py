"""LSTM-GAC: the coordinatewise LSTM with global averaging cells (Andrychowicz et al. 2016, App. A).

The equations and the state layout are in `LSTMGAC`'s docstring.
"""

import numpy as np
from keras import ops

from keras_l2l import preprocessing as prep
from keras_l2l.rules import backend_ops
from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.lstm import init_lstm_meta_params, lstm_cell
from keras_l2l.rules.registry import register_rule


def _positive_int(name, value, minimum=1):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"`{name}` must be a {kind} integer, got {value!r}.")
    return int(value)


def global_mean(x):
    """Mean over the rows of `x` `[n, k]` as a `[k]` vector (zeros when n == 0)."""
    n = ops.cast(backend_ops.num_rows(x), x.dtype)
    return ops.sum(x, axis=0) / ops.maximum(n, ops.cast(1.0, x.dtype))


class _GACNetwork(UpdateRule):
    """The LSTM-GAC stack shared by `LSTMGAC` and `NTMBFGS` (not registered itself).

    Subclasses set `_extra_inputs` (features appended to the preprocessed
    gradient) and `_num_outputs` (width of the output layer).
    """

    _extra_inputs = 0
    _num_outputs = 1
    coordinatewise = False  # the averages reduce over all coordinates: never run in chunks

    def _init_network(self, units, num_layers, global_units, preprocessing,
                      preprocessing_p, output_scale):
        self.units = _positive_int("units", units)
        self.num_layers = _positive_int("num_layers", num_layers)
        self.global_units = _positive_int("global_units", global_units, minimum=0)
        if self.global_units > self.units:
            raise ValueError(
                f"`global_units` ({global_units}) must be at most `units` ({units})."
            )
        prep.check_kind(preprocessing)
        if not preprocessing_p > 0:
            raise ValueError(f"`preprocessing_p` must be > 0, got {preprocessing_p!r}.")
        self.preprocessing = preprocessing
        self.preprocessing_p = float(preprocessing_p)
        self.output_scale = float(output_scale)

    @property
    def local_units(self):
        return self.units - self.global_units

    def _network_shapes(self):
        shapes = {}
        inputs = prep.num_features(self.preprocessing) + self._extra_inputs
        for i in range(self.num_layers):
            shapes[f"lstm{i}_kernel"] = (inputs + self.units, 4 * self.units)
            shapes[f"lstm{i}_bias"] = (4 * self.units,)
            inputs = self.units
        shapes["output_kernel"] = (self.units, self._num_outputs)
        shapes["output_bias"] = (self._num_outputs,)
        return shapes

    def meta_param_shapes(self):
        return self._network_shapes()

    def init_meta_params(self, seed=0):
        """Glorot-uniform kernels, zero biases, forget-gate biases at 1 (as CoordinatewiseLSTM)."""
        return init_lstm_meta_params(self.meta_param_shapes(), self.units, seed)

    def _network_state(self, n):
        state = prep.init_state(self.preprocessing, n)
        for i in range(self.num_layers):
            state[f"lstm{i}_h"] = ops.zeros([n, self.local_units], dtype="float32")
            state[f"lstm{i}_hg"] = ops.zeros([self.global_units], dtype="float32")
            state[f"lstm{i}_c"] = ops.zeros([n, self.units], dtype="float32")
        return state

    def state_kind(self, key):
        return "global" if key.endswith("_hg") else "coordinate"

    def _network(self, meta_params, x, state):
        """Run the stack on per-coordinate inputs `x` `[n, k]`.

        Returns `(local [n, L], averaged [G], new_state)` of the last layer and
        the output layer's result `[n, num_outputs]`.
        """
        new_state = {}
        x_local, x_global = x, None  # the first layer has no averaged inputs
        local_size = x.shape[1]
        units, local = self.units, self.local_units
        for i in range(self.num_layers):
            h, hg, c = state[f"lstm{i}_h"], state[f"lstm{i}_hg"], state[f"lstm{i}_c"]
            kernel, bias = meta_params[f"lstm{i}_kernel"], meta_params[f"lstm{i}_bias"]
            # Rows of the kernel: [x_local, x_global, h_local, h_global].
            inputs = local_size + (0 if x_global is None else self.global_units)
            local_rows = ops.concatenate(
                [kernel[:local_size], kernel[inputs : inputs + local]], axis=0
            )
            global_in, global_rows = [], []
            if x_global is not None and self.global_units:
                global_in.append(x_global)
                global_rows.append(kernel[local_size:inputs])
            if self.global_units:
                global_in.append(hg)
                global_rows.append(kernel[inputs + local :])
            if global_in:  # the averaged inputs are the same for every coordinate: a bias
                g = ops.concatenate(global_in, axis=0)
                bias = bias + ops.matmul(g[None], ops.concatenate(global_rows, axis=0))[0]
            out, c = lstm_cell(ops.concatenate([x_local, h], axis=1), local_rows, bias, c)
            h, hg = out[:, :local], global_mean(out[:, local:])
            new_state[f"lstm{i}_h"], new_state[f"lstm{i}_hg"] = h, hg
            new_state[f"lstm{i}_c"] = c
            x_local, x_global, local_size = h, hg, local
        kernel, bias = meta_params["output_kernel"], meta_params["output_bias"]
        if self.global_units:
            bias = bias + ops.matmul(x_global[None], kernel[local:])[0]
        out = ops.matmul(x_local, kernel[:local]) + bias
        return out, new_state

    def _network_config(self):
        return {
            "units": self.units,
            "num_layers": self.num_layers,
            "global_units": self.global_units,
            "preprocessing": self.preprocessing,
            "preprocessing_p": self.preprocessing_p,
            "output_scale": self.output_scale,
        }


@register_rule
class LSTMGAC(_GACNetwork):
    """Coordinatewise LSTM whose last `global_units` cells per layer are averaged over coordinates.

    A coordinatewise LSTM sees one coordinate at a time, so it cannot tell how
    large the whole gradient is. In LSTM-GAC, the last `global_units` of the
    `units` cells of every layer are *global averaging cells*: each coordinate
    computes them like any other cell, then their outputs `h` are replaced by
    their average over all coordinates before anything reads them (the next
    layer, the output layer, and the layer itself at the next step). Their
    cell states `c` stay per coordinate. The rule is still permutation
    equivariant and works for any number of coordinates; with `global_units=0`
    it is exactly `CoordinatewiseLSTM` with the same meta-parameters.

    Per layer l, for every coordinate j (gate order (i, f, c, o) as Keras'):

        z_j    = [x_j, h_j] @ W_l + b_l            (h_j = [local h_j, averaged h])
        c_j'   = sigmoid(f_j) * c_j + sigmoid(i_j) * tanh(g_j)
        u_j    = sigmoid(o_j) * tanh(c_j')
        h_j'   = [u_j[:L],  mean_k u_k[L:]]        (L = units - global_units)
        x_j    = h_j'                              (input of the next layer)
        update_j = output_scale * (h_j'(last layer) @ W_out + b_out)

    The mean is over every coordinate of the flat vector the rule is called
    with: in `LearnedOptimizer`, all coordinates of the model, including those
    of variables that got no gradient this step (their gradient reads as 0;
    their own state is not written, but they take part in the average); in
    `MetaTrainer`, all coordinates of one run (e.g. all `num_problems`
    quadratics of a `Quadratic` run).

    Since the averaged outputs are the same for every coordinate, they are
    computed as one `[global_units]` vector, and their contribution to the
    matmuls as a bias: the per-coordinate matmul is only over the local inputs.

    State per layer: local outputs `lstm{l}_h` `[n, units - global_units]` and
    cell states `lstm{l}_c` `[n, units]` per coordinate, averaged outputs
    `lstm{l}_hg` `[global_units]` ("global"). Per coordinate
    `4 * num_layers * (2 * units - global_units)` bytes in float32: 288 bytes
    with the defaults (20 units, 4 of them global, 2 layers), against 320 for
    `CoordinatewiseLSTM`.

    Args:
        units: cells per layer (20 in the paper).
        num_layers: stacked LSTM layers.
        global_units: how many of each layer's cells (the last ones) are
            global averaging cells, 0..units.
        preprocessing, preprocessing_p: gradient preprocessing, as in
            `CoordinatewiseLSTM`.
        output_scale: the update is the output layer's value times this.
    """

    def __init__(self, units=20, num_layers=2, global_units=4, preprocessing="log_sign",
                 preprocessing_p=10.0, output_scale=0.1):
        self._init_network(units, num_layers, global_units, preprocessing, preprocessing_p,
                           output_scale)

    def init_state(self, num_coordinates):
        return self._network_state(num_coordinates)

    def __call__(self, meta_params, grads, state):
        x, prep_state = prep.preprocess_step(grads, self.preprocessing, self.preprocessing_p, state)
        out, new_state = self._network(meta_params, x, state)
        return self.output_scale * out[:, 0], {**new_state, **prep_state}

    def get_config(self):
        return self._network_config()
