"""Independent NumPy (float64) references for `LSTMGAC` and `NTMBFGS`.

Written from the equations in the rules' docstrings, coordinate by coordinate
with full-width `h` vectors (no split of the kernels into per-coordinate and
averaged parts, no bias trick), reusing only the paper preprocessing of
`numpy_reference`. State: `{"h", "c": [layers][n, units]}`, plus for NTM-BFGS
`{"A", "B": [n, K], "read": [n]}`.
"""

import numpy as np

try:
    from tests import numpy_reference as base
except ImportError:  # pragma: no cover
    import numpy_reference as base


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def init_state(n, units, num_layers, memory_size=None):
    state = {"h": [np.zeros((n, units)) for _ in range(num_layers)],
             "c": [np.zeros((n, units)) for _ in range(num_layers)]}
    if memory_size is not None:
        state.update(A=np.zeros((n, memory_size)), B=np.zeros((n, memory_size)),
                     read=np.zeros(n))
    return state


def gac_network(meta, features, state, units, num_layers, global_units):
    """LSTM-GAC over features `[n, k]`: `(outputs [n, m], new h, new c)`."""
    meta = {k: np.asarray(v, np.float64) for k, v in meta.items()}
    n = features.shape[0]
    x = features
    hs, cs = [], []
    for layer in range(num_layers):
        kernel, bias = meta[f"lstm{layer}_kernel"], meta[f"lstm{layer}_bias"]
        u = np.zeros((n, units))
        c_new = np.zeros((n, units))
        for j in range(n):
            z = np.concatenate([x[j], state["h"][layer][j]]) @ kernel + bias
            i, f, g, o = (z[k * units : (k + 1) * units] for k in range(4))
            c_new[j] = _sigmoid(f) * state["c"][layer][j] + _sigmoid(i) * np.tanh(g)
            u[j] = _sigmoid(o) * np.tanh(c_new[j])
        h_new = u.copy()
        if global_units:
            average = u[:, units - global_units :].sum(axis=0) / max(n, 1)
            for j in range(n):
                h_new[j, units - global_units :] = average
        hs.append(h_new)
        cs.append(c_new)
        x = h_new
    out = np.array([x[j] @ meta["output_kernel"] + meta["output_bias"] for j in range(n)])
    return out.reshape(n, -1), hs, cs


def gac_rule(meta, grads, state, units, num_layers, global_units, preprocessing="log_sign",
             p=10.0, output_scale=0.1):
    features = base.preprocess(grads, preprocessing, p)
    out, hs, cs = gac_network(meta, features, state, units, num_layers, global_units)
    return output_scale * out[:, 0], {"h": hs, "c": cs}


def ntm_rule(meta, grads, state, units, num_layers, global_units, memory_size,
             preprocessing="log_sign", p=10.0, output_scale=0.1):
    features = base.preprocess(grads, preprocessing, p)
    features = np.concatenate([features, np.asarray(state["read"])[:, None]], axis=1)
    out, hs, cs = gac_network(meta, features, state, units, num_layers, global_units)
    n = features.shape[0]
    direct = out[:, 0]
    a, b, q = np.tanh(out[:, 1]), np.tanh(out[:, 2]), np.tanh(out[:, 3])
    # The memory as the matrix it stands for: M = (1/n) sum_k a_k b_k^T over the K newest writes.
    A = np.concatenate([a[:, None], state["A"][:, : memory_size - 1]], axis=1)
    B = np.concatenate([b[:, None], state["B"][:, : memory_size - 1]], axis=1)
    M = np.zeros((n, n))
    for k in range(memory_size):
        M += np.outer(A[:, k], B[:, k])
    M /= max(n, 1)
    read = M @ q
    updates = output_scale * (direct + read)
    return updates, {"h": hs, "c": cs, "A": A, "B": B, "read": read}


def to_rule_state(state, units, global_units):
    """The reference state in the rules' layout (local h per coordinate, averaged h once)."""
    local = units - global_units
    out = {}
    for layer, (h, c) in enumerate(zip(state["h"], state["c"])):
        out[f"lstm{layer}_h"] = h[:, :local]
        out[f"lstm{layer}_hg"] = h[0, local:] if h.shape[0] else np.zeros(global_units)
        out[f"lstm{layer}_c"] = c
    if "A" in state:
        out.update(memory_a=state["A"], memory_b=state["B"], read=state["read"])
    return out
