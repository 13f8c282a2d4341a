"""A linear tail on the step size, shared by learned and hand-written rules.

In a run of known length T, step sizes fall linearly to 0 over its last
`fraction * T` steps, never starting before step `after`; runs of at most
`after` steps, and runs of unknown length (T = 0), are not annealed. One
definition, so that a learned rule's tail (`HierarchicalLSTM(anneal_fraction=...)`)
and a tuned baseline given the same tail (`LinearTail`, `keras-l2l evaluate
--baselines-anneal`) are compared on the same schedule.
"""

import numpy as np
from keras import ops

from keras_l2l.rules.base import UpdateRule


def check_anneal(fraction, after):
    """`(fraction or None, after)` as floats/ints; a ValueError naming a bad value."""
    if fraction is not None and not 0 < float(fraction) <= 1:
        raise ValueError(f"`anneal_fraction` must be in (0, 1] or None, got {fraction!r}.")
    if not isinstance(after, (int, np.integer)) or after < 0:
        raise ValueError(f"`anneal_after` must be an integer >= 0, got {after!r}.")
    if after and fraction is None:
        raise ValueError("`anneal_after` delays the annealing that `anneal_fraction` sets; "
                         "give `anneal_fraction` too, or leave `anneal_after` at 0.")
    return None if fraction is None else float(fraction), int(after)


def linear_tail(step, horizon, fraction, after=0):
    """The step-size factor at 1-based `step` of a run of `horizon` steps (0 = unknown): 1,
    falling linearly to 0 over the last `fraction` of the run but not before step `after`
    (the run's last step keeps a small factor), 0 past the run's end."""
    span = ops.minimum(horizon - after, fraction * horizon)
    falling = ops.clip((horizon - step + 1.0) / ops.maximum(span, 1.0), 0.0, 1.0)
    return ops.where(horizon > after, falling, ops.ones_like(falling))


class LinearTail(UpdateRule):
    """A hand-written rule (`keras_l2l.rules.BASELINES`) whose learning rate follows `linear_tail`.

    The inner rule is called with `learning_rate * linear_tail(t, T)` at step t,
    which is what `keras.optimizers` do with a learning-rate schedule: momentum
    and Adam's moments are untouched, only the rate falls. The learning rate
    stays the only meta-parameter, so a tuning grid needs one trace, as for
    the inner rule. Its state is the inner rule's plus a step count and the
    run's length (`UpdateRule.with_horizon`).
    """

    def __init__(self, rule, fraction, after=0):
        fraction, after = check_anneal(fraction, after)
        if fraction is None:
            raise ValueError("LinearTail needs a `fraction` in (0, 1].")
        self.rule, self.fraction, self.after = rule, fraction, after
        self.needs_params = rule.needs_params

    def init_meta_params(self, seed=0):
        return self.rule.init_meta_params(seed)

    def init_state(self, num_coordinates):
        return {**self.rule.init_state(num_coordinates),
                "tail_step": ops.zeros([], "float32"), "horizon": ops.zeros([], "float32")}

    def state_kind(self, key):
        return "global" if key in ("tail_step", "horizon") else self.rule.state_kind(key)

    def __call__(self, meta_params, grads, state, *params):
        step = state["tail_step"] + 1.0
        factor = linear_tail(step, state["horizon"], self.fraction, self.after)
        inner_state = {k: v for k, v in state.items() if k not in ("tail_step", "horizon")}
        rate = {**meta_params, "learning_rate": meta_params["learning_rate"] * factor}
        updates, inner_state = self.rule(rate, grads, inner_state, *params)
        return updates, {**inner_state, "tail_step": step, "horizon": state["horizon"]}
