"""Confidence intervals over seeds: Student t for means, a paired bootstrap for ratios."""

import numpy as np
from scipy import stats

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def t_interval(values, confidence=0.95):
    """`(mean, lo, hi)`: the Student-t interval for the mean over axis 0 (the seeds).

    Works elementwise on `[seeds, ...]` arrays, so a loss curve's band is one
    call. Non-finite values propagate (a diverged seed makes the mean inf or
    NaN); with fewer than two seeds the interval is NaN (undefined).
    """
    values = np.asarray(values, np.float64)
    n = values.shape[0]
    with np.errstate(invalid="ignore", over="ignore"):
        mean = values.mean(axis=0)
        if n < 2:
            nan = np.full_like(mean, np.nan)
            return mean, nan, nan
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(axis=0, ddof=1) / np.sqrt(n)
        return mean, mean - half, mean + half


def summary(values):
    """`{"mean", "ci95": [lo, hi], "per_seed"}` of per-seed scalars (the results.json form)."""
    mean, lo, hi = t_interval(values)
    return {
        "mean": float(mean),
        "ci95": [float(lo), float(hi)],
        "per_seed": [float(v) for v in values],
    }


def band(curves):
    """`{"mean", "lo", "hi"}` lists: the per-step t-interval of `[seeds, steps]` curves."""
    mean, lo, hi = t_interval(curves)
    return {"mean": mean.tolist(), "lo": lo.tolist(), "hi": hi.tolist()}


def bootstrap_ratio(numerator, denominator, confidence=0.95):
    """`(ratio, lo, hi)` for `mean(numerator) / mean(denominator)`, paired by seed.

    Seeds are resampled with replacement (the same indices for both, since
    both optimizers saw the same start and batches), `BOOTSTRAP_RESAMPLES`
    times with a fixed RNG seed; the interval is the percentile interval of
    the resampled ratios. NaN if any value is non-finite.
    """
    numerator = np.asarray(numerator, np.float64)
    denominator = np.asarray(denominator, np.float64)
    if not (np.all(np.isfinite(numerator)) and np.all(np.isfinite(denominator))):
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, len(numerator), size=(BOOTSTRAP_RESAMPLES, len(numerator)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerator.mean() / denominator.mean()
        resampled = numerator[idx].mean(axis=1) / denominator[idx].mean(axis=1)
    tail = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(resampled, [tail, 100 - tail])
    return float(ratio), float(lo), float(hi)
