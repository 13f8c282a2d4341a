"""`LearnedOptimizer`: a Keras optimizer whose step is a learned update rule."""

import keras
import numpy as np
import tensorflow as tf

from keras_l2l import flat, presets
from keras_l2l.rules import CoordinatewiseLSTM, deserialize_rule, serialize_rule
from keras_l2l.trained_rule import TrainedRule, checked_meta_params

NAN_POLICIES = ("skip", "raise")
STATE_DTYPES = ("float32", "bfloat16", "float16")


@keras.saving.register_keras_serializable(package="keras_l2l")
class LearnedOptimizer(keras.optimizers.Optimizer):
    """A learned optimizer for Keras: a thin wrapper around a `TrainedRule`.

    The update comes from the same pure rule the meta-trainer differentiates
    through (by default the coordinatewise LSTM of Andrychowicz et al. 2016,
    `keras_l2l.rules.CoordinatewiseLSTM`). All of a model's variables
    are updated by one fused rule call per step: gradients are flattened and
    concatenated, the LSTM runs once over all coordinates, and the updates are
    split back. The meta-parameters and every coordinate's LSTM state are
    optimizer variables, so `model.save()` and `tf.train.Checkpoint` keep them.

    Args:
        learning_rate: multiplies the rule's output (1.0 = the rule as trained);
            a float or a Keras learning-rate schedule.
        preset: the trained rule to use: a shipped preset name (see
            `keras_l2l.list_presets()`), a preset directory (read once, here),
            or a `TrainedRule` (e.g. fresh from `MetaTrainer`); None for an
            untrained rule. The default, "default", is the default preset when
            no rule or architecture argument is given, and an untrained rule
            otherwise. The config records its name only, never reads it again.
        units, num_layers, preprocessing, preprocessing_p, output_scale: the
            architecture of a `CoordinatewiseLSTM` rule (taken from the
            preset when one is given; None means the paper's default).
        rule: any registered `UpdateRule` (or its `{"class_name", "config"}`),
            instead of the architecture arguments.
        seed: seed of the deterministic initial (untrained) meta-parameters.
        nan_policy: `"skip"` leaves weights and LSTM state unchanged on a step
            whose gradients are not all finite and counts it in
            `skipped_steps`; `"raise"` stops with an error naming the variable,
            before anything is written (XLA cannot raise at run time, so an
            XLA-compiled step with `"raise"` is refused when it is traced).
        state_dtype: storage dtype of the per-coordinate state; `"bfloat16"` or
            `"float16"` halve its memory (the rule always computes in float32).
    """

    def __init__(
        self,
        learning_rate=1.0,
        preset="default",
        units=None,
        num_layers=None,
        preprocessing=None,
        preprocessing_p=None,
        output_scale=None,
        rule=None,
        seed=0,
        nan_policy="skip",
        state_dtype="float32",
        name="learned_optimizer",
        **kwargs,
    ):
        if isinstance(learning_rate, (int, np.integer)):
            learning_rate = float(learning_rate)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if nan_policy not in NAN_POLICIES:
            raise ValueError(
                f"Unknown nan_policy {nan_policy!r}; expected one of {NAN_POLICIES}."
            )
        if state_dtype not in STATE_DTYPES:
            raise ValueError(
                f"Unknown state_dtype {state_dtype!r}; expected one of {STATE_DTYPES}."
            )
        architecture = {
            "units": units,
            "num_layers": num_layers,
            "preprocessing": preprocessing,
            "preprocessing_p": preprocessing_p,
            "output_scale": output_scale,
        }
        architecture = {k: v for k, v in architecture.items() if v is not None}
        trained = _trained_rule(preset, rule, architecture, seed)
        self.rule = trained.rule
        self.preset = trained.name
        self.seed = seed
        self.nan_policy = nan_policy
        self.state_dtype = state_dtype
        self._meta_variables = {
            key: self.add_variable(value.shape, initializer=_constant(value), name=f"meta_{key}")
            for key, value in trained.meta_params.items()
        }
        self.skipped_steps = self.add_variable(
            (), initializer="zeros", dtype="int64", name="skipped_steps"
        )
        self._last_step = _StepSize()

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """An optimizer with a trained rule: a shipped preset name, a directory or a `TrainedRule`.

        `keras_l2l.list_presets()` lists the shipped names; `kwargs` are the
        other constructor arguments (`learning_rate`, `nan_policy`, ...).
        """
        return cls(preset=preset, **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild from `get_config()` without reading any preset from disk.

        The rule comes from the config; the meta-weights are restored by
        `keras.saving.load_model` from the archive (or stay at the seed's
        initialization for a bare `from_config`). The preset name is kept
        for the record only, so a model trained with a preset directory
        loads on a machine that does not have it.
        """
        config = dict(config)
        legacy = [k for k in CoordinatewiseLSTM().get_config() if k in config]
        if legacy and "rule" not in config:  # saved by keras_l2l 0.1
            rule_config = {k: config.pop(k) for k in legacy}
            config["rule"] = {"class_name": "CoordinatewiseLSTM", "config": rule_config}
        if "rule" not in config:  # not from get_config (e.g. "keras_l2l>LearnedOptimizer")
            return super().from_config(config, custom_objects)
        preset = config.pop("preset", None)
        optimizer = super().from_config(dict(config, preset=None), custom_objects)
        optimizer.preset = preset
        return optimizer

    @property
    def meta_variables(self):
        """The rule's meta-parameters (LSTM and output kernels), in saved order."""
        return list(self._meta_variables.values())

    def get_meta_weights(self):
        """Meta-parameters as `{name: numpy array}`."""
        return {k: np.array(v.numpy()) for k, v in self._meta_variables.items()}

    def set_meta_weights(self, weights):
        """Set the meta-parameters from `{name: array}`; all are checked before any is set."""
        for key, value in checked_meta_params(self.rule, weights).items():
            self._meta_variables[key].assign(value)

    def trained_rule(self):
        """The current rule and meta-weights as a `TrainedRule` (e.g. to save as a preset).

        Its provenance records only the preset this optimizer started from:
        the meta-weights may have changed since (`set_meta_weights`, `load_model`).
        """
        return TrainedRule(self.rule, self.get_meta_weights(), {"started_from": self.preset})

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._shapes = [tuple(v.shape) for v in var_list]
        self._state_variables = {
            key: self.add_variable(
                value.shape,
                initializer=_constant(value),
                dtype=self._storage_dtype(key, value.dtype),
                name=f"state_{key}",
            )
            for key, value in self.rule.initial_state(flat.sizes_of(self._shapes)).items()
        }

    def _storage_dtype(self, key, dtype):
        """`state_dtype` for per-coordinate floats (the bulk of the memory); others as they are."""
        if dtype.is_floating and self.rule.state_kind(key) == "coordinate":
            return self.state_dtype
        return dtype.name

    def rule_state(self):
        """Current rule state, floating entries as float32: `{name: tensor}`."""
        return {
            k: tf.cast(v, tf.float32) if tf.as_dtype(v.dtype).is_floating else v.value
            for k, v in self._state_variables.items()
        }

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        """One fused rule call for all variables (replaces per-variable `update_step`).

        Under a `tf.distribute` strategy this is where Keras all-reduces the
        gradients, so it does so too, once per step; then every replica runs
        the rule on the same reduced gradients and writes its own copies of
        the variables and state (`strategy.extended.update`), as Keras' own
        optimizers do one variable at a time.
        """
        given = {
            self._get_variable_index(v): _dense(g) for g, v in zip(grads, trainable_variables)
        }
        given = _all_reduce_sum(given)
        anchor = _tf_variable(self._trainable_variables[min(given)])

        def apply_everywhere(strategy, given, learning_rate):
            strategy.extended.update(
                anchor,
                lambda _, given, learning_rate: self._fused_update(given, learning_rate),
                args=(given, learning_rate),
                group=False,
            )

        tf.__internal__.distribute.interim.maybe_merge_call(
            apply_everywhere, self._distribution_strategy, given, learning_rate
        )

    def _fused_update(self, given, learning_rate):
        """Run the rule over every coordinate and write weights and state (one replica)."""
        if self.nan_policy == "raise":
            given = self._checked_finite(given)
        flat_grads = self._flat_gradients(given)
        masks = self._gradient_masks(given)

        def update():
            updates, new_state, state = self._run_rule(flat_grads, masks, learning_rate)
            self._record_size(updates)
            self._write_state(new_state, state, masks)
            self._write_updates(updates, given)
            return tf.constant(True)

        if self.nan_policy == "skip":
            # A non-finite step writes nothing. Branching on one scalar (rather
            # than masking every state tensor with tf.where) saves a pass over
            # the state and a state-sized temporary per tensor.
            finite = tf.reduce_all(tf.math.is_finite(flat_grads))
            self.skipped_steps.assign_add(tf.cast(tf.logical_not(finite), tf.int64))
            tf.cond(finite, update, lambda: tf.constant(False))
        else:
            update()

    def _checked_finite(self, given):
        """Gradients wrapped in `check_numerics`, so in a graph the check runs before any write."""
        if _in_xla_context():
            raise ValueError(
                "LearnedOptimizer(nan_policy='raise') cannot stop an XLA-compiled "
                "step: XLA drops tf.debugging.check_numerics, so a non-finite "
                "gradient would go unnoticed. Compile without XLA "
                "(`model.compile(..., jit_compile=False)`, or `tf.function` without "
                "`jit_compile=True`), or use nan_policy='skip' and watch "
                "`optimizer.skipped_steps`."
            )
        return {
            index: tf.debugging.check_numerics(
                grad,
                "LearnedOptimizer: non-finite gradient for "
                f"{self._trainable_variables[index].path}",
            )
            for index, grad in given.items()
        }

    def _flat_gradients(self, given):
        """All gradients as one flat vector, zeros for variables that got none."""
        return flat.flatten(
            [given[i] if i in given else tf.zeros(shape) for i, shape in enumerate(self._shapes)]
        )

    def _gradient_masks(self, given):
        """`{state kind: bool mask of what has a gradient, or None}` (None: all have one)."""
        masks = {"coordinate": None, "tensor": None, "global": None}
        if len(given) < len(self._shapes):
            has = [i in given for i in range(len(self._shapes))]
            sizes = flat.sizes_of(self._shapes)
            masks["coordinate"] = tf.concat([tf.fill([n], h) for n, h in zip(sizes, has)], 0)
            masks["tensor"] = tf.constant(has)
        return masks

    def _run_rule(self, flat_grads, masks, learning_rate):
        """`(updates, new_state, state)` of one rule call over every coordinate; writes nothing."""
        state = self.rule_state()
        meta_params = {k: v.value for k, v in self._meta_variables.items()}
        extra = ()
        if self.rule.needs_params:  # e.g. decoupled weight decay
            extra = (flat.flatten([v.value for v in self._trainable_variables]),)
        updates, new_state = self._rule_function()(meta_params, flat_grads, state, *extra)
        updates = updates * tf.cast(learning_rate, tf.float32)
        if masks["coordinate"] is not None:  # variables without a gradient stay put
            updates = tf.where(masks["coordinate"], updates, 0.0)
        return updates, new_state, state

    def _rule_function(self):
        """The rule, compiled with XLA when it asks for that and the step is not XLA already."""
        if not getattr(self.rule, "xla_in_keras", False) or _in_xla_context():
            return self.rule
        if getattr(self, "_compiled_rule", (None,))[0] is not self.rule:
            self._compiled_rule = (self.rule, tf.function(self.rule, jit_compile=True))
        return self._compiled_rule[1]

    @property
    def update_norm(self):
        """Global L2 norm of the last applied update (0 before the first step)."""
        return self._last_step.norm

    @property
    def update_ratio(self):
        """Last update's norm over the parameters' norm before it: the relative step size."""
        return self._last_step.ratio

    def _record_size(self, updates):
        """Store the update's global L2 norm and its ratio to the parameters' norm."""
        norm = tf.norm(updates)
        squares = [tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in self._trainable_variables]
        self._last_step.norm.assign(norm)
        self._last_step.ratio.assign(tf.math.divide_no_nan(norm, tf.sqrt(tf.add_n(squares))))

    def _write_updates(self, updates, given):
        """Add each variable's slice of the flat updates to it (variables with a gradient only)."""
        for index, update in enumerate(flat.unflatten(updates, self._shapes)):
            if index in given:
                variable = self._trainable_variables[index]
                self.assign_add(variable, tf.cast(update, variable.dtype))

    def _write_state(self, new_state, old_state, masks):
        """Store the rule's new state; coordinates and variables without a gradient keep theirs."""
        for key, variable in self._state_variables.items():
            value, mask = new_state[key], masks[self.rule.state_kind(key)]
            if value is old_state[key]:  # returned unchanged (e.g. a layout constant)
                continue
            if mask is not None:
                mask = tf.reshape(mask, [-1] + [1] * (len(variable.shape) - 1))
                value = tf.where(mask, value, old_state[key])
            variable.assign(tf.cast(value, variable.dtype))

    def get_config(self):
        config = super().get_config()
        config.update(
            rule=serialize_rule(self.rule),
            preset=self.preset,
            seed=self.seed,
            nan_policy=self.nan_policy,
            state_dtype=self.state_dtype,
        )
        return config


class _StepSize:
    """Size of the last applied step, for `keras_l2l.callbacks.UpdateMonitor`.

    A plain holder keeps these variables out of the optimizer's saved
    variables, so archives written before they existed load unchanged.
    """

    def __init__(self):
        self.norm = tf.Variable(0.0, trainable=False, name="update_norm")
        self.ratio = tf.Variable(0.0, trainable=False, name="update_ratio")


def _trained_rule(preset, rule, architecture, seed):
    """The `TrainedRule` an optimizer starts from (the one place a preset is read).

    A preset (name, directory or `TrainedRule`) gives rule and weights, and
    any `rule` or architecture argument must agree with it; without one,
    `rule` (an `UpdateRule` or its `{"class_name", "config"}`) or a
    `CoordinatewiseLSTM(**architecture)` starts untrained at `seed`.
    "default" means the default preset unless a rule or architecture is given.
    """
    if isinstance(rule, dict):
        rule = deserialize_rule(rule)
    if rule is not None and architecture:
        raise ValueError(
            f"Pass either `rule` or architecture arguments {architecture}, not both."
        )
    if isinstance(preset, str) and preset == "default":
        preset = None if (architecture or rule is not None) else presets.DEFAULT_PRESET
    if preset is None:
        return TrainedRule.untrained(rule or CoordinatewiseLSTM(**architecture), seed)
    trained = preset if isinstance(preset, TrainedRule) else presets.load_preset(preset)
    given = serialize_rule(rule)["config"] if rule is not None else architecture
    actual = trained.rule.get_config()
    conflicting = {k: v for k, v in given.items() if actual.get(k) != v}
    if conflicting or (rule is not None and type(rule) is not type(trained.rule)):
        raise ValueError(
            f"Preset {trained.name or preset!r} has the rule {trained.rule_config()}; the "
            f"arguments {conflicting or serialize_rule(rule)} contradict it. Drop them, or "
            "pass preset=None for an untrained optimizer of your own architecture."
        )
    return trained


def _dense(grad):
    """A dense float32 gradient (`IndexedSlices` from embeddings are scattered)."""
    return tf.cast(tf.convert_to_tensor(grad), tf.float32)


def _all_reduce_sum(given):
    """`{index: gradient}` summed over replicas (unchanged outside a multi-replica step)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return given
    indices = sorted(given)
    reduced = context.all_reduce(tf.distribute.ReduceOp.SUM, [given[i] for i in indices])
    return dict(zip(indices, reduced))


def _tf_variable(variable):
    """The backend variable behind a Keras variable (what `tf.distribute` updates)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def _in_xla_context():
    """Whether ops are being traced into an XLA cluster (`jit_compile=True`)."""
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - private module moved
        return False
    graph = tf.compat.v1.get_default_graph()
    return bool(control_flow_util.GraphOrParentsInXlaContext(graph))


def _constant(value):
    """A Keras initializer returning a precomputed tensor."""
    return lambda shape, dtype=None: tf.cast(value, dtype or tf.float32)
