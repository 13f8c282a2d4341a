"""Meta-loss weights w_t over a run's steps (paper: w_t = 1)."""

import numpy as np

META_LOSS_WEIGHTS = ("uniform", "final", "exponential")


def meta_loss_weights(kind, horizon, decay=0.95):
    """Weights `w[t-1]` for the losses f(theta_t), t = 1..horizon, as a numpy array.

    `kind` is "uniform" (paper), "final" (only the last step), "exponential"
    (`decay ** (horizon - t)`, emphasising late steps) or a callable
    `(t, horizon) -> float`.
    """
    steps = np.arange(1, horizon + 1)
    if callable(kind):
        return np.array([float(kind(int(t), horizon)) for t in steps], np.float32)
    if kind == "uniform":
        return np.ones(horizon, np.float32)
    if kind == "final":
        return (steps == horizon).astype(np.float32)
    if kind == "exponential":
        return (decay ** (horizon - steps)).astype(np.float32)
    raise ValueError(
        f"Unknown meta-loss weights {kind!r}; expected one of {META_LOSS_WEIGHTS} "
        "or a callable (t, horizon) -> weight."
    )
