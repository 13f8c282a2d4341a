"""A hierarchical learned optimizer: a per-tensor LSTM steering a tiny per-parameter MLP.

The paper's idea (a trainable LSTM proposes the update) with what the learned
optimizers that beat tuned Adam share (DESIGN.md section 4): Adam-like
normalised inputs, time features, a bounded output, and state of a few
floats per parameter. One LSTM cell per *variable* reads statistics of its
variable's normalised gradients and sets that variable's step size and a
small context vector; a per-parameter MLP reads each coordinate's normalised
gradient and momenta plus its variable's context and corrects Adam's
direction and step size coordinate by coordinate:

    update_i = -lr_j * clip(m_i / sqrt(v_i) + d_i, -10, 10) * exp(2 tanh(s_i / 2))
    lr_j     = base_learning_rate * exp(5 tanh(a_j / 5))

with `(a_j, context_j)` from the tensor LSTM and `(d_i, s_i)` from the MLP.
The output layers start at zero, so the untrained rule *is* Adam (beta_1 0.9,
beta_2 0.999) at `base_learning_rate`: it takes sane normalised steps before
any meta-training, and meta-training only has to learn improvements.
"""

import math

import numpy as np
import tensorflow as tf

from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.registry import register_rule

BETAS = (0.9, 0.99)  # momentum decays; m_fast (beta 0.9) is Adam's first moment
BETA_V = 0.999
EPSILON = 1e-8
TIME_SCALES = (100.0, 1_000.0, 10_000.0)
NUM_TENSOR_FEATURES = 5 + len(TIME_SCALES)
NUM_PARAM_FEATURES = 3  # g / sqrt(v), m_fast / sqrt(v), m_slow / sqrt(v)
STEP_CLIP = 10.0
LR_RANGE = 5.0  # lr_j within base * exp(+-5)
SCALE_RANGE = 2.0  # per-parameter step multiplier within exp(+-2)


@register_rule
class HierarchicalLSTM(UpdateRule):
    """Per-tensor LSTM (`tensor_units` cells) + per-parameter MLP (`hidden_units` wide).

    Per-parameter state: two momenta and the second moment (12 bytes in
    float32) and the index of the parameter's variable (4 bytes). Per
    variable: the LSTM's `(h, c)` and its size; globally: the step count.
    """

    def __init__(self, tensor_units=16, context_units=4, hidden_units=8,
                 base_learning_rate=1e-3):
        for name, value in (("tensor_units", tensor_units), ("context_units", context_units),
                            ("hidden_units", hidden_units)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        if not base_learning_rate > 0:
            raise ValueError(f"`base_learning_rate` must be > 0, got {base_learning_rate!r}.")
        self.tensor_units, self.context_units = int(tensor_units), int(context_units)
        self.hidden_units, self.base_learning_rate = int(hidden_units), float(base_learning_rate)

    def get_config(self):
        return {
            "tensor_units": self.tensor_units,
            "context_units": self.context_units,
            "hidden_units": self.hidden_units,
            "base_learning_rate": self.base_learning_rate,
        }

    # -- meta-parameters and state ---------------------------------------------

    def meta_param_shapes(self):
        u, c, h = self.tensor_units, self.context_units, self.hidden_units
        return {
            "tensor_lstm_kernel": (NUM_TENSOR_FEATURES + u, 4 * u),
            "tensor_lstm_bias": (4 * u,),
            "tensor_out_kernel": (u, 1 + c),
            "tensor_out_bias": (1 + c,),
            "param_hidden_kernel": (NUM_PARAM_FEATURES + c, h),
            "param_hidden_bias": (h,),
            "param_out_kernel": (h, 2),
            "param_out_bias": (2,),
        }

    def init_meta_params(self, seed=0):
        """Glorot-uniform hidden kernels, forget-gate bias 1, zero output layers (= Adam)."""
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in self.meta_param_shapes().items():
            value = np.zeros(shape)
            if name in ("tensor_lstm_kernel", "param_hidden_kernel"):
                limit = math.sqrt(6.0 / (shape[0] + shape[1]))
                value = rng.uniform(-limit, limit, size=shape)
            if name == "tensor_lstm_bias":
                value[self.tensor_units : 2 * self.tensor_units] = 1.0
            params[name] = tf.constant(value, tf.float32)
        return params

    def init_state(self, num_coordinates):
        return self.initial_state([num_coordinates])  # one variable holding every coordinate

    def initial_state(self, sizes):
        sizes = [int(s) for s in sizes]
        n, k = sum(sizes), len(sizes)
        zeros = tf.zeros([n], tf.float32)
        tensor_zeros = tf.zeros([k, self.tensor_units], tf.float32)
        return {
            "m_fast": zeros,
            "m_slow": zeros,
            "v": zeros,
            "tensor_index": tf.constant(np.repeat(np.arange(k), sizes), tf.int32),
            "tensor_size": tf.constant(sizes, tf.float32),
            "tensor_h": tensor_zeros,
            "tensor_c": tensor_zeros,
            "step": tf.zeros([], tf.float32),
        }

    def state_kind(self, key):
        if key in ("tensor_size", "tensor_h", "tensor_c"):
            return "tensor"
        return "global" if key == "step" else "coordinate"

    # -- the update ------------------------------------------------------------

    def __call__(self, meta_params, grads, state):
        step = state["step"] + 1.0
        moments, features = _moments_and_features(grads, state, step)
        index = state["tensor_index"]
        tensor_features = self._tensor_features(features, index, state["tensor_size"], step)
        h, c = _lstm_cell(meta_params, tensor_features, state["tensor_h"], state["tensor_c"])
        head = tf.matmul(h, meta_params["tensor_out_kernel"]) + meta_params["tensor_out_bias"]
        log_lr = LR_RANGE * tf.tanh(head[:, 0] / LR_RANGE)
        context = tf.gather(head[:, 1:], index)
        hidden = tf.tanh(
            tf.matmul(tf.concat([features, context], axis=1), meta_params["param_hidden_kernel"])
            + meta_params["param_hidden_bias"]
        )
        out = tf.matmul(hidden, meta_params["param_out_kernel"]) + meta_params["param_out_bias"]
        direction = tf.clip_by_value(features[:, 1] + out[:, 0], -STEP_CLIP, STEP_CLIP)
        scale = tf.exp(SCALE_RANGE * tf.tanh(out[:, 1] / SCALE_RANGE))
        learning_rate = self.base_learning_rate * tf.exp(tf.gather(log_lr, index))
        new_state = dict(state, **moments, tensor_h=h, tensor_c=c, step=step)
        return -learning_rate * direction * scale, new_state

    def _tensor_features(self, features, index, sizes, step):
        """Per variable: RMS of each normalised input, their alignment, log size, time."""
        k = tf.shape(sizes)[0]
        count = tf.maximum(sizes, 1.0)

        def mean(x):  # over each variable's coordinates; x is [n] or [n, d]
            total = tf.math.unsorted_segment_sum(x, index, k)
            return total / (count if x.shape.rank == 1 else count[:, None])

        rms = tf.sqrt(mean(tf.square(features)) + 1e-12)  # [k, 3]
        alignment = mean(features[:, 0] * features[:, 1]) / (rms[:, 0] * rms[:, 1] + 1e-6)
        time = [tf.fill([k], tf.tanh(step / scale)) for scale in TIME_SCALES]
        columns = [rms[:, 0], rms[:, 1], rms[:, 2], alignment, tf.math.log(count) / 10.0]
        return tf.stack(columns + time, axis=1)


def _moments_and_features(grads, state, step):
    """Updated moments and the per-parameter inputs `[g, m_fast, m_slow] / sqrt(v_hat)`."""
    m_fast = state["m_fast"] + (grads - state["m_fast"]) * (1.0 - BETAS[0])
    m_slow = state["m_slow"] + (grads - state["m_slow"]) * (1.0 - BETAS[1])
    v = state["v"] + (tf.square(grads) - state["v"]) * (1.0 - BETA_V)
    v_hat = v / (1.0 - tf.pow(BETA_V, step))
    inverse_rms = 1.0 / (tf.sqrt(v_hat) + EPSILON)
    features = tf.stack(
        [
            grads * inverse_rms,
            m_fast / (1.0 - tf.pow(BETAS[0], step)) * inverse_rms,
            m_slow / (1.0 - tf.pow(BETAS[1], step)) * inverse_rms,
        ],
        axis=1,
    )
    return {"m_fast": m_fast, "m_slow": m_slow, "v": v}, features


def _lstm_cell(meta_params, x, h, c):
    """One LSTM step over the variables (Keras gate order i, f, c, o)."""
    z = tf.matmul(tf.concat([x, h], axis=1), meta_params["tensor_lstm_kernel"])
    i, f, g, o = tf.split(z + meta_params["tensor_lstm_bias"], 4, axis=1)
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    return tf.sigmoid(o) * tf.tanh(c), c
