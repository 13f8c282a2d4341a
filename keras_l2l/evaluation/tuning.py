"""Learning-rate grid search for the baselines, on seeds kept apart from evaluation."""

import numpy as np

from keras_l2l.evaluation import runs

#: 2^-12 .. 2^0 in steps of 2^0.5 (25 values).
LEARNING_RATE_GRID = tuple(float(2.0**e) for e in np.arange(-12.0, 0.25, 0.5))

#: 2^-12 .. 2^0 in steps of 2^1 (13 values): half the tuning cost, for runs over many tasks.
COARSE_GRID = LEARNING_RATE_GRID[::2]

#: 2^-12 .. 2^12 in steps of 2^1 (25 values): for losses whose gradients are far from unit
#: scale, e.g. the pixels of a style transfer, where SGD-like rates reach 2^10 and beyond.
WIDE_GRID = tuple(float(2.0**e) for e in range(-12, 13))

GRIDS = {"full": LEARNING_RATE_GRID, "coarse": COARSE_GRID, "wide": WIDE_GRID}

#: A learned rule's step multiplier (`LearnedOptimizer(learning_rate=...)`) when it is tuned
#: too: 2^-2 .. 2^2 in steps of 2^0.5 (9 values) around its trained scale, 1.
LEARNED_SCALE_GRID = tuple(float(2.0**e) for e in np.arange(-2.0, 2.25, 0.5))

#: Tuning seeds start here: evaluation uses 0..K-1, meta-training validation
#: 500_000+, meta-training 1_000_000+.
TUNING_SEED_OFFSET = 10_000


def describe_grid(grid):
    """A grid in words, e.g. "2^-12 .. 2^0 in steps of 2^0.5 (25 values)"."""
    exponents = np.log2(np.asarray(grid, np.float64))
    steps = np.diff(exponents)
    halves = np.allclose(exponents * 2, np.round(exponents * 2))
    if len(grid) > 2 and halves and np.allclose(steps, steps[0]):
        return (f"2^{exponents[0]:g} .. 2^{exponents[-1]:g} in steps of 2^{steps[0]:g} "
                f"({len(grid)} values)")
    return "{" + ", ".join(f"{rate:.4g}" for rate in grid) + "}"


def tuning_seeds(count):
    return [TUNING_SEED_OFFSET + i for i in range(count)]


def tune_learning_rate(run, final_loss, starts, steps, grid=LEARNING_RATE_GRID, on_run=None,
                       journal=None, name="", meta_params=None, rate_key="learning_rate"):
    """`(best learning rate, mean final loss per grid value)`.

    `run` is the baseline's compiled rollout and `final_loss` the compiled
    `eval_loss`; `starts` maps each tuning seed to its flat initial
    parameters. The learning rate enters as a meta-parameter tensor, so the
    whole grid uses one trace. A diverged run counts as +inf; ties go to the
    smaller rate. `on_run()` is called after each run (progress bars). With a
    `journal` (`RunJournal`), runs it holds for baseline `name` are not run again.
    `meta_params`, if given, are the rule's other meta-parameters, and `rate_key` names the
    one tuned (a learned rule's weights and `ScaledSteps.KEY`).
    """
    means = []
    for learning_rate in grid:
        rate_params = {**(meta_params or {}), **runs.learning_rate_params(learning_rate, rate_key)}
        finals = []
        for seed, params0 in starts.items():
            key = f"tune/{name}/{learning_rate!r}/{seed}"
            record = journal.get(key) if journal is not None else None
            if record is None:
                _, final, _ = runs.run_seed(run, rate_params, params0, seed, steps)
                record = {"final_loss": runs.finite_or_inf(final_loss(final, runs.seed_tensor(seed)))}
                if journal is not None:
                    journal.put(key, record)
            finals.append(record["final_loss"])
            if on_run is not None:
                on_run()
        means.append(float(np.mean(finals)))
    return float(grid[int(np.argmin(means))]), means


class ScaledSteps:
    """`rule` with its updates times the meta-parameter `KEY`, as
    `LearnedOptimizer(learning_rate=...)` scales a learned rule's steps: a tensor,
    so that a grid of multipliers needs one trace. Everything else is `rule`'s."""

    KEY = "step_multiplier"  # not "learning_rate": hand-written rules have one of their own

    def __init__(self, rule):
        self._rule = rule

    def __getattr__(self, name):
        return getattr(self._rule, name)

    def __call__(self, meta_params, grads, state, *params):
        weights = {k: v for k, v in meta_params.items() if k != self.KEY}
        updates, state = self._rule(weights, grads, state, *params)
        return updates * meta_params[self.KEY], state
