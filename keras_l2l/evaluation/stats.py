"""Confidence intervals over seeds: Student t for means, a paired bootstrap for ratios,
and the same in log space (geometric means) for loss curves and ratios plotted on log axes.
"""

import math

import numpy as np
from scipy import stats

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0

#: Per-seed curves are stored in results.json as means over blocks of steps, at most this many.
MAX_STORED_POINTS = 200


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
    """A curve's results.json entry from `[seeds, steps]` curves.

    `{"mean", "lo", "hi"}`: the per-step t-interval (arithmetic); `"per_seed"`:
    `{"every": w, "values": [seeds, blocks]}`, each seed's curve averaged over blocks
    of `w` consecutive steps (`block_means`; the last block may be shorter), at most
    `MAX_STORED_POINTS` blocks, 5 significant digits; the plots' log-space bands and
    paired ratios are computed from it.
    """
    curves = np.asarray(curves, np.float64)
    mean, lo, hi = t_interval(curves)
    every = max(1, math.ceil(curves.shape[1] / MAX_STORED_POINTS))
    values = [[_round(v) for v in row] for row in block_means(curves, every)]
    return {"mean": mean.tolist(), "lo": lo.tolist(), "hi": hi.tolist(),
            "per_seed": {"every": every, "values": values}}


def _round(value, digits=5):
    value = float(value)
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value


def block_means(curves, every):
    """`[..., ceil(steps / every)]`: means over consecutive blocks of `every` steps (last axis).

    A non-finite value makes its block's mean non-finite.
    """
    curves = np.asarray(curves, np.float64)
    steps = curves.shape[-1]
    starts = np.arange(0, steps, every)
    with np.errstate(invalid="ignore", over="ignore"):
        sums = np.add.reduceat(curves, starts, axis=-1)
    sizes = np.diff(np.append(starts, steps))
    return sums / sizes


def block_steps(steps, every):
    """The x position of each block of `block_means`: the mean step index (0-based)."""
    starts = np.arange(0, steps, every)
    ends = np.minimum(starts + every, steps)
    return (starts + ends - 1) / 2.0


def log_t_interval(values, confidence=0.95):
    """`(geometric mean, lo, hi)` over axis 0: the Student-t interval of mean(log values).

    `exp(m -+ t * s / sqrt(n))` with `m`, `s` the mean and standard deviation of the
    logs, so the band is always positive and symmetric on a log axis. Elementwise on
    `[seeds, ...]` arrays. A non-positive or NaN value makes that element NaN, +inf
    makes it +inf; fewer than two seeds give a NaN interval.
    """
    values = np.asarray(values, np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        logs = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
        logs = np.where(np.isnan(values), np.nan, logs)
        mean, lo, hi = t_interval(logs, confidence)
        return np.exp(mean), np.exp(lo), np.exp(hi)


def log_band(curves, confidence=0.95):
    """`(geomean, lo, hi)` arrays over steps of `[seeds, steps]` positive curves."""
    return log_t_interval(curves, confidence)


def paired_log_ratio(numerator, denominator, confidence=0.95):
    """`(geometric mean ratio, lo, hi)` of per-seed ratios `numerator / denominator`.

    Paired by seed (row), elementwise over the other axes: the log-space t-interval
    of the per-seed ratios (see `log_t_interval`).
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratios = np.asarray(numerator, np.float64) / np.asarray(denominator, np.float64)
    return log_t_interval(ratios, confidence)


def lognormal_from_t_band(mean, lo, hi, seeds, confidence=0.95):
    """`(mu, sigma)` of log values, approximated from a stored arithmetic t-band.

    For results.json files written before per-seed curves were stored: the
    standard deviation over seeds is recovered from the band's half-width
    (`(hi - lo) / 2 * sqrt(n) / t`), and a lognormal with that mean and standard
    deviation gives `sigma^2 = log(1 + sd^2 / mean^2)`, `mu = log(mean) - sigma^2 / 2`.
    An approximation (the seeds' spread need not be lognormal), labelled as such in plots.
    """
    mean, lo, hi = (np.asarray(a, np.float64) for a in (mean, lo, hi))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if seeds < 2:
            sd = np.zeros_like(mean)
        else:
            t = stats.t.ppf(0.5 + confidence / 2, seeds - 1)
            sd = np.nan_to_num((hi - lo) / 2 * np.sqrt(seeds) / t, nan=0.0)
        positive = np.isfinite(mean) & (mean > 0)
        safe = np.where(positive, mean, 1.0)
        var = np.log1p((sd / safe) ** 2)
        mu = np.where(positive, np.log(safe) - var / 2, np.where(mean == np.inf, np.inf, np.nan))
        return mu, np.sqrt(var)


VERDICTS = ("win", "loss", "no clear difference")


def verdict(lo, hi):
    """`"win"` if the CI of a learned / baseline ratio lies entirely below 1, `"loss"` if
    entirely above 1, `"no clear difference"` if it contains 1, `"undetermined"` if
    either end is missing or not finite (e.g. a diverged seed)."""
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "undetermined"
    if hi < 1.0:
        return "win"
    if lo > 1.0:
        return "loss"
    return "no clear difference"


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
