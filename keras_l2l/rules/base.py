"""The update-rule interface shared by learned and hand-written optimizers."""

import math

import numpy as np
from keras import ops


class UpdateRule:
    """A pure optimizer step: `(meta_params, grads, state) -> (updates, new_state)`.

    `grads` is one flat float32 vector holding every coordinate of a model (all
    variables flattened and concatenated), so a rule sees the whole model at
    once: coordinatewise rules treat it as a batch, and rules that share
    information across coordinates (global averages, external memory) can
    reduce over it. `state` and `meta_params` are dicts of tensors; state
    entries may be per coordinate (leading dimension `n`) or global. The
    returned `updates` are *added* to the parameters.

    Hand-written rules (SGD, Adam) take their learning rate as their only
    meta-parameter, so learned and baseline rules run through the same
    compiled loops unchanged, and a learning-rate grid needs no retracing.

    A rule that also needs the parameters themselves (decoupled weight decay)
    sets `needs_params = True` and is called as
    `rule(meta_params, grads, state, params)`, `params` being the flat
    parameter vector before the update; the others never pay for building it.

    Rules are written in `keras.ops` (with `keras_l2l.rules.backend_ops` for
    the few ops it spells differently), so one implementation serves every
    Keras backend in `LearnedOptimizer`; on TensorFlow they are TF ops, which
    the meta-trainer differentiates through and compiles with XLA.
    """

    needs_params = False

    #: Whether each coordinate's update and state depend on that coordinate
    #: alone (no reductions over coordinates), so that `LearnedOptimizer` may
    #: run the rule over chunks of the flat vector to bound its memory.
    coordinatewise = False

    #: Whether coordinates meet only in per-variable sums. Such a rule defines
    #: `coordinate_sums(meta_params, grads, state)` (`[k, s]` sums over the
    #: given coordinates), `variable_step(meta_params, sums, state)` (`(rows,
    #: new "tensor" and "global" state)`) and `coordinate_step(meta_params,
    #: grads, state, rows)` (`(updates, new "coordinate" state)`), and
    #: `__call__` chains them; `LearnedOptimizer` may then run both coordinate
    #: parts over chunks of the flat vector, as it does for coordinatewise rules.
    sums_per_variable = False

    #: Whether the rule call is compiled with XLA where the loop around it is
    #: not: `LearnedOptimizer` in an uncompiled training step, and
    #: `make_rollout`'s evaluation loops. Worth it for rules made of many small
    #: elementwise ops, which XLA fuses (`benchmarks/`,
    #: results/speed-memory/rollout_xla.md).
    compile_with_xla = False

    def init_meta_params(self, seed=0):
        """Initial meta-parameters, deterministic in `seed`: `{name: tensor}`."""
        return {}

    def meta_param_shapes(self):
        """`{name: shape}` of the meta-parameters, in their fixed (saved) order."""
        return {k: tuple(v.shape) for k, v in self.init_meta_params(0).items()}

    def init_state(self, num_coordinates):
        """Initial state for `num_coordinates` coordinates: `{name: tensor}`."""
        raise NotImplementedError

    def initial_state(self, sizes):
        """Initial state for variables of `sizes` coordinates each, flattened in that order.

        Rules that look at variables separately (per-tensor statistics)
        override it, the others need only `init_state`.
        """
        return self.init_state(sum(int(s) for s in sizes))

    def initial_state_for(self, shapes):
        """Initial state for variables of `shapes`, flattened in that order: what every caller uses.

        By default `initial_state` of their sizes; rules that look at the
        variables' shapes (`GroupedRule`, by variable kind) override it.
        """
        return self.initial_state([math.prod(shape) for shape in shapes])

    def with_horizon(self, state, steps):
        """`state` for a run known to last `steps` optimizer steps.

        Rules that read the run's length keep it in a global `horizon` entry
        (0 = unknown); the loops that know it (rollouts, meta-training, `fit`
        with `total_steps`) set it here, and every other rule's state passes
        through unchanged.
        """
        keys = [k for k in state if k == "horizon" or k.endswith("/horizon")]
        if not keys:
            return state
        return dict(state, **{k: ops.cast(ops.convert_to_tensor(steps), "float32") for k in keys})

    def adapt_meta_params(self, meta_params, source):
        """This rule's meta-parameters carrying over trained `meta_params` of the rule `source`
        (same class, other config), so meta-training can continue from them.

        By default they are used as they are (and refused later if their shapes
        differ); rules whose config adds inputs override it.
        """
        return dict(meta_params)

    def state_kind(self, key):
        """How state entry `key` is laid out, so a Keras optimizer can store it:

        - "coordinate": one row per coordinate (leading dimension n; a
          `GroupedRule`'s sub-rule: per coordinate of its group);
        - "tensor": one row per variable (leading dimension = number of variables);
        - "global": anything else (e.g. a step counter).
        """
        return "coordinate"

    def state_owners(self, key, shapes):
        """For variables of `shapes`: the index of the variable each row of state entry `key`
        belongs to (an int array), or None for an entry of no variable in particular.

        `LearnedOptimizer` keeps the rows of variables without a gradient. By
        default told from `state_kind`; rules whose entries hold other rows
        (`GroupedRule`: a group's coordinates) override it.
        """
        kind = self.state_kind(key)
        if kind == "global":
            return None
        variables = np.arange(len(shapes))
        return variables if kind == "tensor" else np.repeat(variables, [math.prod(s) for s in shapes])

    def __call__(self, meta_params, grads, state):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
