"""Gradient preprocessing for coordinatewise rules (paper, Appendix A).

Raw gradients span many orders of magnitude; an LSTM sees them better as a
(log-magnitude, sign) pair. Each function maps a flat gradient `[n]` to
features `[n, k]`. Written in `keras.ops`, so they run on every Keras backend.
"""

import math

from keras import ops

PREPROCESSING = ("log_sign", "clamped_log_sign", "none")


def num_features(kind):
    """Number of input features per coordinate produced by `kind`."""
    check_kind(kind)
    return 1 if kind == "none" else 2


def check_kind(kind):
    if kind not in PREPROCESSING:
        raise ValueError(
            f"Unknown preprocessing {kind!r}; expected one of {PREPROCESSING}."
        )


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


def preprocess(grads, kind="log_sign", p=10.0):
    """Features `[n, num_features(kind)]` for a flat gradient `[n]`."""
    check_kind(kind)
    if kind == "log_sign":
        return log_sign(grads, p)
    if kind == "clamped_log_sign":
        return clamped_log_sign(grads, p)
    return grads[:, None]
