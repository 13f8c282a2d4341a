"""An independent NumPy (float64) implementation of `HierarchicalLSTM`, variable by variable.

Written from the equations in the rule's docstring (the direction gate applies when the
meta-parameters hold `direction_gate_kernel`; `correction_gate_rms`, `anneal_fraction` and
`anneal_after`, `step_adaptation` and its floor, `correction_fade_after`,
`correction_centered` as the rule's), with loops over
variables instead of segment sums and gathers, so tests can compare the two.
State: `{"m_fast", "m_slow", "v": [n], "h", "c": [k, units], "step": float}`, plus
`"horizon": float` (0 = unknown) for the rule with `horizon_features`, and
`"log_scale": [k]` for the rule with `step_adaptation`.
"""

import math

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def init_state(sizes, units, horizon=None, step_adaptation=False):
    n, k = sum(sizes), len(sizes)
    state = {"m_fast": np.zeros(n), "m_slow": np.zeros(n), "v": np.zeros(n),
             "h": np.zeros((k, units)), "c": np.zeros((k, units)), "step": 0.0}
    if step_adaptation:
        state["log_scale"] = np.zeros(k)
    return state if horizon is None else dict(state, horizon=float(horizon))


def hierarchical_rule(meta, grads, state, sizes, units, base_learning_rate, correction_gate_rms=None,
                      anneal_fraction=None, horizon_features=None, anneal_after=0,
                      step_adaptation=None, step_adaptation_floor=None, correction_fade_after=0,
                      correction_centered=False):
    """One step: `(updates [n], new_state)`; horizon features read if `horizon_features`
    (None: if the state holds a horizon)."""
    if horizon_features is None:
        horizon_features = "horizon" in state
    meta = {k: np.asarray(v, np.float64) for k, v in meta.items()}
    g = np.asarray(grads, np.float64)
    t = state["step"] + 1.0
    m_fast = 0.9 * state["m_fast"] + 0.1 * g
    m_slow = 0.99 * state["m_slow"] + 0.01 * g
    v = 0.999 * state["v"] + 0.001 * g * g
    inv = 1.0 / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    x = np.stack([g * inv, m_fast / (1 - 0.9**t) * inv, m_slow / (1 - 0.99**t) * inv], 1)
    previous = state["m_fast"] * inv  # the momentum before this step, over sqrt(v)
    updates = np.zeros_like(g)
    log_scale = np.array(state.get("log_scale", np.zeros(len(sizes))), np.float64)
    h_new, c_new = np.zeros_like(state["h"]), np.zeros_like(state["c"])
    start = 0
    for j, size in enumerate(sizes):
        part = slice(start, start + size)
        start += size
        xs = x[part]
        count = max(size, 1)
        rms = np.sqrt((xs**2).sum(0) / count + 1e-12)
        alignment = (xs[:, 0] * xs[:, 1]).sum() / count / (rms[0] * rms[1] + 1e-6)
        features = [*rms, alignment, math.log(count) / 10]
        features += [math.tanh(t / s) for s in (100.0, 1000.0, 10000.0)]
        if horizon_features:
            T = state["horizon"]
            features += [1.0, min(t / T, 1.0), math.log(T) / 10] if T > 0 else [0.0, 0.0, 0.0]
        z = np.concatenate([features, state["h"][j]]) @ meta["tensor_lstm_kernel"]
        z = z + meta["tensor_lstm_bias"]
        i, f, gg, o = (z[q * units : (q + 1) * units] for q in range(4))
        c_new[j] = _sigmoid(f) * state["c"][j] + _sigmoid(i) * np.tanh(gg)
        h_new[j] = _sigmoid(o) * np.tanh(c_new[j])
        head = h_new[j] @ meta["tensor_out_kernel"] + meta["tensor_out_bias"]
        gate = 1.0
        if "direction_gate_kernel" in meta:
            gate = 2 * _sigmoid(h_new[j] @ meta["direction_gate_kernel"] + meta["direction_gate_bias"])[0]
        if correction_gate_rms is not None:
            gate *= min(rms[1] / correction_gate_rms, 1.0)
        if correction_fade_after:
            gate *= min(correction_fade_after / t, 1.0)
        lr = base_learning_rate * math.exp(5 * math.tanh(head[0] / 5))
        if step_adaptation is not None:
            norms = math.sqrt((xs[:, 0] ** 2).sum() * (previous[part] ** 2).sum())
            cosine = (xs[:, 0] * previous[part]).sum() / norms if norms > 0 else 0.0
            lowest = -2.0 if step_adaptation_floor is None else math.log(step_adaptation_floor)
            log_scale[j] = min(max(log_scale[j] + step_adaptation * cosine, lowest), 2.0)
            lr *= math.exp(log_scale[j])
        if anneal_fraction is not None and state.get("horizon", 0) > anneal_after:
            T = state["horizon"]
            last_full_step = max(anneal_after, (1 - anneal_fraction) * T)
            lr *= min(max((T - t + 1) / (T - last_full_step), 0.0), 1.0)
        def mlp(x):
            hidden = np.tanh(np.concatenate([x, head[1:]]) @ meta["param_hidden_kernel"]
                             + meta["param_hidden_bias"])
            return hidden @ meta["param_out_kernel"] + meta["param_out_bias"]

        d_at_zero = mlp(np.zeros(3))[0] if correction_centered else 0.0
        for row in range(xs.shape[0]):
            d, s = mlp(xs[row])
            d -= d_at_zero
            direction = min(max(xs[row, 1] + gate * d, -10.0), 10.0)
            updates[part.start + row] = -lr * direction * math.exp(2 * math.tanh(s / 2))
    new_state = dict(state, m_fast=m_fast, m_slow=m_slow, v=v, h=h_new, c=c_new, step=t)
    if step_adaptation is not None:
        new_state["log_scale"] = log_scale
    return updates, new_state
