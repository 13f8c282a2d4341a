"""An independent NumPy (float64) implementation of the coordinatewise LSTM rule.

Written from the equations of Andrychowicz et al. (2016, Appendix A) and the
released DeepMind code, not from `keras_l2l`'s TensorFlow code, so tests can
compare the two. Everything is computed coordinate by coordinate in float64.

Equations (per coordinate):

* preprocessing
    - "log_sign":         (log|g| / p, sign g)       if |g| >= e^-p
                          (-1,         e^p g)        otherwise
    - "clamped_log_sign": (max(log(|g| + eps) / p, -1), clip(e^p g, -1, 1)),
                          eps = float32 machine epsilon
    - "none":             (g,)
    - "adam":             (g, m1, m2) / (sqrt(v) + 1e-8) with, at step t (from 1),
                          m_k = beta_k m_k + (1 - beta_k) g, beta = 0.9, 0.99 (momenta),
                          v = 0.999 v + 0.001 g^2, each divided by (1 - beta^t)
* each LSTM layer l (Keras gate order i, f, c, o):
    z = [x, h_l] @ W_l + b_l;   i, f, g, o = split(z, 4)
    c_l' = sigmoid(f) * c_l + sigmoid(i) * tanh(g)
    h_l' = sigmoid(o) * tanh(c_l');   x = h_l'
* each GRU layer (Cho et al. 2014; h' = z h + (1 - z) candidate, as Keras):
    z, r = split(sigmoid([x, h] @ W_zr + b_zr), 2)
    h' = z * h + (1 - z) * tanh([x, r * h] @ W_c + b_c)
* each MLP layer: x = tanh(x @ W + b)  (no state)
* update = output_scale * (h_last @ W_out + b_out)
"""

import math

import numpy as np

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _preprocess_one(g, kind, p):
    """Features of one scalar gradient `g` (a Python float) as a list."""
    if kind == "log_sign":
        if abs(g) >= math.exp(-p):
            return [math.log(abs(g)) / p, float(np.sign(g))]
        return [-1.0, math.exp(p) * g]
    if kind == "clamped_log_sign":
        first = max(math.log(abs(g) + FLOAT32_EPS) / p, -1.0)
        second = min(max(math.exp(p) * g, -1.0), 1.0)
        return [first, second]
    if kind == "none":
        return [g]
    raise ValueError(f"unknown preprocessing {kind!r}")


def preprocess(grads, kind="log_sign", p=10.0):
    """Features `[n, k]` (float64) of a flat gradient `[n]`, one coordinate at a time."""
    grads = np.asarray(grads, dtype=np.float64).reshape(-1)
    return np.array([_preprocess_one(float(g), kind, p) for g in grads], np.float64)


def init_state(num_coordinates, units, num_layers, cell="lstm", preprocessing="log_sign"):
    state = {}
    if preprocessing == "adam":
        state["adam_moments"] = np.zeros((num_coordinates, 3))
        state["adam_step"] = np.zeros(num_coordinates)
    for layer in range(num_layers if cell != "mlp" else 0):
        state[f"{cell}{layer}_h"] = np.zeros((num_coordinates, units))
        if cell == "lstm":
            state[f"lstm{layer}_c"] = np.zeros((num_coordinates, units))
    return state


def adam_preprocess(g, moments, step):
    """One coordinate: `(features [3], new moments [3])` of the "adam" preprocessing."""
    betas = (0.9, 0.99, 0.999)
    targets = (g, g, g * g)
    moments = [b * m + (1 - b) * x for b, m, x in zip(betas, moments, targets)]
    m1, m2, v = (m / (1 - b**step) for m, b in zip(moments, betas))
    return [x / (math.sqrt(v) + 1e-8) for x in (g, m1, m2)], moments


def _lstm_cell(x, h, c, kernel, bias, units):
    """One LSTM cell for one coordinate: vectors x, h, c -> (h', c')."""
    z = np.concatenate([x, h]) @ kernel + bias
    i = z[0 * units : 1 * units]
    f = z[1 * units : 2 * units]
    g = z[2 * units : 3 * units]
    o = z[3 * units : 4 * units]
    c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    h_new = _sigmoid(o) * np.tanh(c_new)
    return h_new, c_new


def _gru_cell(x, h, meta, name, units):
    """One GRU cell for one coordinate: vectors x, h -> h'."""
    gates = _sigmoid(np.concatenate([x, h]) @ meta[f"{name}_gates_kernel"]
                     + meta[f"{name}_gates_bias"])
    z, r = gates[:units], gates[units:]
    candidate = np.tanh(np.concatenate([x, r * h]) @ meta[f"{name}_candidate_kernel"]
                        + meta[f"{name}_candidate_bias"])
    return z * h + (1.0 - z) * candidate


def lstm_rule(
    meta_params,
    grads,
    state,
    units,
    num_layers,
    preprocessing="log_sign",
    p=10.0,
    output_scale=0.1,
    cell="lstm",
):
    """One step of the rule: returns `(updates [n], new_state)` in float64."""
    meta = {k: np.asarray(v, np.float64) for k, v in meta_params.items()}
    grads = np.asarray(grads, np.float64).reshape(-1)
    n = grads.shape[0]
    updates = np.zeros(n)
    new_state = {k: np.array(np.asarray(v, np.float64)) for k, v in state.items()}
    for j in range(n):
        if preprocessing == "adam":
            step = float(state["adam_step"][j]) + 1.0
            x, moments = adam_preprocess(float(grads[j]), state["adam_moments"][j], step)
            new_state["adam_moments"][j], new_state["adam_step"][j] = moments, step
            x = np.array(x)
        else:
            x = np.array(_preprocess_one(float(grads[j]), preprocessing, p))
        for layer in range(num_layers):
            name = f"{cell}{layer}"
            if cell == "mlp":
                x = np.tanh(x @ meta[f"{name}_kernel"] + meta[f"{name}_bias"])
                continue
            h = np.asarray(state[f"{name}_h"], np.float64)[j]
            if cell == "gru":
                h = _gru_cell(x, h, meta, name, units)
            else:
                c = np.asarray(state[f"{name}_c"], np.float64)[j]
                h, c = _lstm_cell(x, h, c, meta[f"{name}_kernel"], meta[f"{name}_bias"], units)
                new_state[f"{name}_c"][j] = c
            new_state[f"{name}_h"][j] = h
            x = h
        out = x @ meta["output_kernel"][:, 0] + meta["output_bias"][0]
        updates[j] = output_scale * out
    return updates, new_state
