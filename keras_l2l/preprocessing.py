"""Gradient preprocessing for coordinatewise rules (paper, Appendix A; Lv et al. 2017).

Raw gradients span many orders of magnitude; an LSTM sees them better as a
(log-magnitude, sign) pair, or normalised by running moments as in Adam.
`preprocess` maps a flat gradient `[n]` to features `[n, k]`; the "adam"
kind keeps per-coordinate moments, so rules call `preprocess_step`, which
also takes and returns a state (`init_state`; `{}` for the other kinds). Written in `keras.ops`, so it runs
on every Keras backend.
"""

import math

from keras import ops

from keras_l2l.rules import backend_ops

PREPROCESSING = ("log_sign", "clamped_log_sign", "none", "adam")
ADAM_DECAYS = (0.9, 0.99, 0.999)  # two momenta, then the second moment
ADAM_EPSILON = 1e-8


def num_features(kind):
    """Number of input features per coordinate produced by `kind`."""
    check_kind(kind)
    return {"none": 1, "adam": 3}.get(kind, 2)


def check_kind(kind):
    if kind not in PREPROCESSING:
        raise ValueError(
            f"Unknown preprocessing {kind!r}; expected one of {PREPROCESSING}."
        )


def init_state(kind, num_coordinates):
    """The preprocessing's own state for `num_coordinates` coordinates (per coordinate)."""
    check_kind(kind)
    if kind != "adam":
        return {}
    return {
        "adam_moments": ops.zeros([num_coordinates, 3], "float32"),
        # Per coordinate rather than global, so the rule stays coordinatewise
        # (LearnedOptimizer may run it in chunks of coordinates).
        "adam_step": ops.zeros([num_coordinates], "float32"),
    }


def log_sign(grads, p=10.0):
    """Paper's preprocessing: `(log|g|/p, sign g)` if `|g| >= e^-p`, else `(-1, e^p g)`.

    The log is taken of `max(|g|, e^-p)` so that neither branch produces an
    infinite value or a NaN gradient, even for `g == 0`.
    """
    threshold = math.exp(-p)
    magnitude = ops.abs(grads)
    large = magnitude >= threshold
    log_part = ops.log(ops.maximum(magnitude, threshold)) / p
    first = ops.where(large, log_part, -ops.ones_like(grads))
    second = ops.where(large, ops.sign(grads), grads * math.exp(p))
    return ops.stack([first, second], axis=-1)


def clamped_log_sign(grads, p=5.0):
    """The released DeepMind code's variant: `(max(log(|g|+eps)/p, -1), clip(e^p g, -1, 1))`."""
    eps = 1.1920929e-07  # float32 machine epsilon, as in the DeepMind code
    log_part = ops.maximum(ops.log(ops.abs(grads) + eps) / p, -1.0)
    sign_part = ops.clip(grads * math.exp(p), -1.0, 1.0)
    return ops.stack([log_part, sign_part], axis=-1)


GRADIENT_LIMIT = 1e18


def adam_features(grads, moments, step, previous_momentum=False):
    """Updated moments `[m_fast, m_slow, v]` and the features `[g, m_fast, m_slow] / sqrt(v)`.

    Adam's normalised inputs (Lv et al. 2017): momenta at decays 0.9 and 0.99
    and the second moment at 0.999, all bias-corrected for `step` (the count
    including this one: a scalar, or one per coordinate), so the features are
    invariant to the gradient's scale. With `previous_momentum`, a fourth
    feature: m_fast before this step over sqrt(v), not bias-corrected.
    """
    # Squares of larger gradients overflow float32 (its max is 3.4e38); clipping them
    # keeps every moment and feature finite and changes nothing below the limit.
    grads = ops.clip(grads, -GRADIENT_LIMIT, GRADIENT_LIMIT)
    decays = backend_ops.constant(ADAM_DECAYS, grads.dtype)
    previous = moments[:, :1]
    moments = moments + (ops.stack([grads, grads, ops.square(grads)], 1) - moments) * (1.0 - decays)
    corrections = 1.0 / (1.0 - ops.power(decays, ops.expand_dims(step, -1)))
    corrected = moments * corrections
    inverse_rms = 1.0 / (ops.sqrt(corrected[:, 2]) + ADAM_EPSILON)
    raw = [grads[:, None], corrected[:, :2]] + ([previous] if previous_momentum else [])
    return moments, ops.concatenate(raw, 1) * inverse_rms[:, None]


def preprocess(grads, kind="log_sign", p=10.0):
    """Features `[n, num_features(kind)]` for a flat gradient `[n]` (stateless kinds)."""
    check_kind(kind)
    if kind == "log_sign":
        return log_sign(grads, p)
    if kind == "clamped_log_sign":
        return clamped_log_sign(grads, p)
    if kind == "adam":
        raise ValueError(
            "The 'adam' preprocessing keeps per-coordinate moments; call "
            "preprocess_step(grads, 'adam', p, state) with state from init_state('adam', n)."
        )
    return grads[:, None]


def preprocess_step(grads, kind="log_sign", p=10.0, state=None):
    """`(features [n, num_features(kind)], new preprocessing state)`: what rules call.

    `state` holds at least `init_state(kind, n)`'s entries (others are
    ignored); the new state has exactly those entries (`{}` for stateless kinds).
    """
    if kind != "adam":
        return preprocess(grads, kind, p), {}
    step = state["adam_step"] + 1.0
    moments, features = adam_features(grads, state["adam_moments"], step)
    return features, {"adam_moments": moments, "adam_step": step}
