"""`LearnedOptimizer`: a Keras optimizer whose step is a learned update rule.

It runs on every Keras backend (TensorFlow, JAX, PyTorch): the rule and the
step are written in `keras.ops`. What only TensorFlow has stays in a few
`_tf_*` functions used on that backend alone: `tf.distribute` (one gradient
all-reduce per step, then the rule on every replica), `tf.cond` around a
step that is skipped, `check_numerics` for `nan_policy="raise"` inside
graphs, and XLA compilation of the rule call.
"""

import contextlib
import math

import keras
import numpy as np
from keras import ops

from keras_l2l import flat, presets
from keras_l2l.rules import CoordinatewiseLSTM, backend_ops, deserialize_rule, serialize_rule
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
    Works with every Keras backend (TensorFlow, JAX, PyTorch), with the same
    updates on each.

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
            XLA-compiled step with `"raise"` is refused when it is traced; on
            JAX that is any `jit`-compiled step). The error is TF's
            `InvalidArgumentError` on TensorFlow, `FloatingPointError` on the
            other backends.
        state_dtype: storage dtype of the per-coordinate state; `"bfloat16"` or
            `"float16"` halve its memory (the rule always computes in float32).
        chunk_size: for coordinatewise rules (the paper's LSTM) and rules whose
            coordinates meet only in per-variable sums (`HierarchicalLSTM`) on
            TensorFlow, run the per-coordinate work over this many coordinates
            at a time, which bounds an update's temporary memory (about 1.2 KB
            per coordinate at once for the paper's LSTM) independently of the
            model's size; None runs all coordinates in one call. Results agree
            to float32 rounding. Smaller chunks use less memory and more time:
            4096 instead of 16384 keeps a 1M-parameter paper-LSTM update within
            64 bytes per parameter above its state even in a fresh process, and
            takes 17-43% longer per update (results/speed-memory/warm-up).
        total_steps: how many steps the training will run, for rules that read
            the run's length (`HierarchicalLSTM` with `horizon_features=True` or
            `anneal_fraction`); None
            leaves it unknown. `keras_l2l.callbacks.TrainingLength` sets it
            from `fit`'s epochs and steps; `set_total_steps` at any time.
            Other rules ignore it.
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
        chunk_size=16384,
        total_steps=None,
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
        if chunk_size is not None and (
            not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1
        ):
            raise ValueError(
                f"`chunk_size` must be a positive integer or None, got {chunk_size!r}."
            )
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        self.total_steps = None if total_steps is None else _positive_steps(total_steps)
        self._meta_variables = {
            key: self.add_variable(value.shape, initializer=_constant(value), name=f"meta_{key}")
            for key, value in trained.meta_params.items()
        }
        self.skipped_steps = self.add_variable(
            (), initializer="zeros", dtype=_counter_dtype(), name="skipped_steps"
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
        # Created eagerly: `fit` builds the optimizer while tracing its first
        # step, and TF would then run all the variables' initializers inside that
        # step at once (the float32 initial values alive together with their
        # casts to `state_dtype`: for the paper LSTM in 16 bits, a peak ~160
        # bytes per parameter higher). Eagerly, they run one after another. Each
        # entry comes from its own call: a rule may hand out one zeros tensor for
        # several entries, and TF variables sharing a buffer copy it on first write.
        # Floating entries that start at zero (most of the state) are made as zeros
        # in their storage dtype: a float32 value cast to 16 bits would put a
        # float32 copy on top of the state (80 bytes per parameter for the paper LSTM).
        with _eager_scope():
            specs = {k: (v.shape, v.dtype, _all_zeros(v)) for k, v in self._initial_state().items()}
            self._state_variables = {
                key: self.add_variable(
                    shape,
                    initializer="zeros" if zeros else _constant(self._initial_state()[key]),
                    dtype=self._storage_dtype(key, dtype),
                    name=f"state_{key}",
                )
                for key, (shape, dtype, zeros) in specs.items()
            }

    def _initial_state(self):
        state = self.rule.initial_state_for(self._shapes)
        return self.rule.with_horizon(state, self.total_steps) if self.total_steps else state

    def set_total_steps(self, steps):
        """Tell the rule that training runs `steps` more steps from now (see `total_steps`).

        Counted from the current step, so a second `fit` gets a fresh horizon.
        """
        steps = _positive_steps(steps)
        self.total_steps = steps
        if not self.built:
            return
        state = self._current_state(
            [k for k in self._state_variables if self.rule.state_kind(k) == "global"]
        )
        total = int(ops.convert_to_numpy(self.iterations)) + steps
        for key, value in self.rule.with_horizon(state, total).items():
            if value is not state[key]:  # the rule's horizon entries
                self._state_variables[key].assign(value)

    def _storage_dtype(self, key, dtype):
        """`state_dtype` for per-coordinate floats (the bulk of the memory); others as they are."""
        if backend_ops.is_floating(dtype) and self.rule.state_kind(key) == "coordinate":
            return self.state_dtype
        return backend_ops.dtype_name(dtype)

    def rule_state(self):
        """Current rule state, floating entries as float32: `{name: tensor}` (a snapshot)."""
        state = self._current_state()
        if keras.backend.backend() == "torch":  # torch tensors may alias the variables
            state = {k: ops.copy(v) for k, v in state.items()}
        return state

    def _current_state(self, keys=None):
        """The state variables' values (those of `keys`, default all), floating entries as
        float32 (read, never copied)."""
        return {
            k: ops.cast(v, "float32") if backend_ops.is_floating(v.dtype) else v.value
            for k, v in self._state_variables.items()
            if keys is None or k in keys
        }

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        """One fused rule call for all variables (replaces per-variable `update_step`).

        Under a `tf.distribute` strategy this is where Keras all-reduces the
        gradients, so it does so too, once per step; then every replica runs
        the rule on the same reduced gradients and writes its own copies of
        the variables and state (`strategy.extended.update`), as Keras' own
        optimizers do one variable at a time. Other backends have no
        distribution strategy here: the step runs as it is.
        """
        given = {
            self._get_variable_index(v): _dense(g) for g, v in zip(grads, trainable_variables)
        }
        if backend_ops.is_tensorflow():
            _tf_update_on_every_replica(self, given, learning_rate)
        else:
            self._fused_update(given, learning_rate)

    def _fused_update(self, given, learning_rate):
        """Run the rule over every coordinate and write weights and state (one replica)."""
        if self.nan_policy == "raise":
            given = self._checked_finite(given)
        flat_grads = self._flat_gradients(given)
        masks = self._gradient_masks(given)

        def update(finite=None):
            if self._runs_in_chunks(flat_grads):
                updates = _tf_chunked_rule(self, flat_grads, masks, learning_rate)
            else:
                updates, new_state, state = self._run_rule(flat_grads, masks, learning_rate)
                self._write_state(new_state, state, masks, finite)
            self._record_size(updates, finite)
            self._write_updates(updates, given, finite)

        if self.nan_policy != "skip":
            update()
            return
        finite = ops.all(ops.isfinite(flat_grads))
        self.skipped_steps.assign_add(ops.cast(ops.logical_not(finite), self.skipped_steps.dtype))
        if backend_ops.is_tensorflow():
            # A non-finite step writes nothing. Branching on one scalar (rather
            # than masking every state tensor with tf.where) saves a pass over
            # the state and a state-sized temporary per tensor.
            _tf_cond(finite, update)
        elif not (_is_traced(finite) or _torch_compiling()):  # eager: a Python branch
            if bool(finite):
                update()
        else:  # traced (JAX jit, torch.compile): write, keeping the old values if not finite
            update(finite)

    def _checked_finite(self, given):
        """The gradients, checked to be finite before anything is written (`nan_policy="raise"`)."""
        if backend_ops.is_tensorflow():
            return _tf_checked_finite(self, given)
        checks = {index: ops.all(ops.isfinite(grad)) for index, grad in given.items()}
        if any(_is_traced(ok) for ok in checks.values()):
            raise ValueError(
                "LearnedOptimizer(nan_policy='raise') cannot stop a jit-compiled "
                f"{keras.backend.backend()} step: a traced step cannot raise at run "
                "time, so a non-finite gradient would go unnoticed. Compile without "
                "jit (`model.compile(..., jit_compile=False)`), or use "
                "nan_policy='skip' and watch `optimizer.skipped_steps`."
            )
        for index, ok in checks.items():
            if not bool(ok):
                raise FloatingPointError(
                    "LearnedOptimizer: non-finite gradient for "
                    f"{self._trainable_variables[index].path} (nan_policy='raise')"
                )
        return given

    def _flat_gradients(self, given):
        """All gradients as one flat vector, zeros for variables that got none."""
        return flat.flatten(
            [given[i] if i in given else ops.zeros(shape) for i, shape in enumerate(self._shapes)]
        )

    def _gradient_masks(self, given):
        """Bool masks of what has a gradient, None where all has one: `{"coordinate": over
        the coordinates, "state": {state key: over its rows (`rule.state_owners`)}}`."""
        masks = {"coordinate": None, "state": dict.fromkeys(self._state_variables)}
        if len(given) < len(self._shapes):
            has = np.array([i in given for i in range(len(self._shapes))])
            masks["coordinate"] = backend_ops.constant(
                np.repeat(has, flat.sizes_of(self._shapes)), "bool"
            )
            made = {}  # one constant per distinct mask (a rule's state entries share most)
            for key in self._state_variables:
                owners = self.rule.state_owners(key, self._shapes)
                if owners is not None:
                    mask = has[owners]
                    if mask.tobytes() not in made:
                        made[mask.tobytes()] = backend_ops.constant(mask, "bool")
                    masks["state"][key] = made[mask.tobytes()]
        return masks

    def _runs_in_chunks(self, flat_grads):
        """Whether the rule runs over `chunk_size` coordinates at a time (TensorFlow graphs).

        Only rules whose coordinates do not interact, or meet only in
        per-variable sums, qualify; under XLA the
        chunk loop's dynamic shapes do not compile, and XLA plans its own
        buffers anyway.
        """
        return (
            backend_ops.is_tensorflow()
            and self.chunk_size is not None
            and (self.rule.coordinatewise or self.rule.sums_per_variable)
            and not self.rule.needs_params
            and flat_grads.shape[0] > self.chunk_size
            and not backend_ops.in_xla_context()
        )

    def _run_rule(self, flat_grads, masks, learning_rate):
        """`(updates, new_state, state)` of one rule call over every coordinate; writes nothing."""
        state = self._current_state()
        meta_params = {k: v.value for k, v in self._meta_variables.items()}
        extra = ()
        if self.rule.needs_params:  # e.g. decoupled weight decay
            extra = (flat.flatten([v.value for v in self._trainable_variables]),)
        updates, new_state = self._rule_function()(meta_params, flat_grads, state, *extra)
        new_state = {**state, **new_state}  # a compiled rule returns only what it changed
        updates = updates * ops.cast(learning_rate, "float32")
        if masks["coordinate"] is not None:  # variables without a gradient stay put
            updates = ops.where(masks["coordinate"], updates, 0.0)
        return updates, new_state, state

    def _rule_function(self):
        """The rule; on TensorFlow compiled with XLA when it asks for that and the step is not XLA.

        (On JAX, `fit` compiles the whole step, rule included, with XLA already.)
        """
        if not backend_ops.is_tensorflow() or not getattr(self.rule, "compile_with_xla", False):
            return self.rule
        if backend_ops.in_xla_context():
            return self.rule
        if getattr(self, "_compiled_rule", (None,))[0] is not self.rule:
            import tensorflow as tf

            self._compiled_rule = (
                self.rule, tf.function(_changed_state_only(self.rule), jit_compile=True)
            )
        return self._compiled_rule[1]

    @property
    def update_norm(self):
        """Global L2 norm of the last applied update (0 before the first step)."""
        return self._last_step.variables()[0]

    @property
    def update_ratio(self):
        """Last update's norm over the parameters' norm before it: the relative step size."""
        return self._last_step.variables()[1]

    def _record_size(self, updates, finite=None):
        """Store the update's global L2 norm and its ratio to the parameters' norm."""
        norm = ops.sqrt(backend_ops.sum_of_squares(updates))
        squares = [
            backend_ops.sum_of_squares(ops.cast(v, "float32")) for v in self._trainable_variables
        ]
        total = squares[0]
        for square in squares[1:]:
            total = total + square
        ratio = ops.divide_no_nan(norm, ops.sqrt(total))
        self._last_step.record(norm, ratio, finite)

    def _write_updates(self, updates, given, finite=None):
        """Add each variable's slice of the flat updates to it (variables with a gradient only)."""
        if finite is not None:  # a traced step that may be skipped adds nothing then
            updates = ops.where(finite, updates, 0.0)
        for index, update in enumerate(flat.unflatten(updates, self._shapes)):
            if index in given:
                variable = self._trainable_variables[index]
                self.assign_add(variable, ops.cast(update, variable.dtype))

    def _write_state(self, new_state, old_state, masks, finite=None):
        """Store the rule's new state; coordinates and variables without a gradient keep theirs."""
        for key, value in new_state.items():
            variable, mask = self._state_variables[key], masks["state"][key]
            if value is old_state[key]:  # returned unchanged (e.g. a layout constant)
                continue
            if mask is not None:
                mask = ops.reshape(mask, [-1] + [1] * (len(variable.shape) - 1))
                value = ops.where(mask, value, old_state[key])
            if finite is not None:
                value = ops.where(finite, value, old_state[key])
            variable.assign(ops.cast(value, variable.dtype))

    def get_config(self):
        config = super().get_config()
        config.update(
            rule=serialize_rule(self.rule),
            preset=self.preset,
            seed=self.seed,
            nan_policy=self.nan_policy,
            state_dtype=self.state_dtype,
            chunk_size=self.chunk_size,
            total_steps=self.total_steps,
        )
        return config


class _StepSize:
    """Size of the last applied step, for `keras_l2l.callbacks.UpdateMonitor`.

    A plain holder keeps these variables out of the optimizer's saved
    variables, so archives written before they existed load unchanged.
    TensorFlow and PyTorch write them in the step. A JAX step is a pure
    function (`stateless_apply`, traced by `jit`) that can only return the
    optimizer's own variables, so it sends the two numbers to the host
    (`jax.debug.callback`) and they are stored when read.
    """

    def __init__(self):
        self.norm = keras.Variable(0.0, dtype="float32", trainable=False, name="update_norm")
        self.ratio = keras.Variable(0.0, dtype="float32", trainable=False, name="update_ratio")
        self._pending = None

    def record(self, norm, ratio, finite=None):
        """Store the sizes of an applied step (`finite`: whether it was applied, if traced)."""
        if keras.backend.backend() == "jax":
            import jax

            applied = True if finite is None else finite
            jax.debug.callback(self._receive, norm, ratio, applied)
        else:
            self.norm.assign(norm)
            self.ratio.assign(ratio)

    def _receive(self, norm, ratio, applied):
        if bool(applied):
            self._pending = (float(norm), float(ratio))

    def variables(self):
        """`(norm, ratio)` variables, brought up to date with what a JAX step sent."""
        if keras.backend.backend() == "jax":
            import jax

            jax.effects_barrier()  # callbacks of steps already dispatched have run
            pending, self._pending = self._pending, None
            if pending is not None:
                self.norm.assign(pending[0])
                self.ratio.assign(pending[1])
        return self.norm, self.ratio


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


def _positive_steps(steps):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"`total_steps` must be a positive integer, got {steps!r}.")
    return int(steps)


def _dense(grad):
    """A dense float32 gradient (TF's `IndexedSlices` from embeddings are scattered)."""
    if backend_ops.is_tensorflow():
        import tensorflow as tf

        grad = tf.convert_to_tensor(grad)
    return ops.cast(grad, "float32")


def _counter_dtype():
    """int64, or int32 on JAX without 64-bit types (where int64 would be truncated, with a warning)."""
    if keras.backend.backend() == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            return "int32"
    return "int64"


def _is_traced(value):
    """Whether `value` is a JAX tracer (a `jit`-compiled step), whose value is not known yet."""
    if keras.backend.backend() != "jax":
        return False
    import jax

    return isinstance(value, jax.core.Tracer)


def _torch_compiling():
    """Whether `torch.compile` is tracing the step (a Python branch on a tensor breaks its graph)."""
    if keras.backend.backend() != "torch":
        return False
    import torch

    return torch.compiler.is_compiling()


def _constant(value):
    """A Keras initializer returning a precomputed array or tensor.

    Each variable gets its own copy: rules may hand out one zeros tensor for
    several state entries, and JAX must not see two variables share a buffer
    (it donates them to the compiled step).
    """
    if isinstance(value, np.ndarray):
        value = np.array(value)  # a writable copy (presets' arrays are read-only)

    def initializer(shape, dtype=None):
        tensor = ops.cast(value, dtype or "float32")
        return tensor if backend_ops.is_tensorflow() else ops.copy(tensor)

    return initializer


# -- TensorFlow only -----------------------------------------------------------


def _all_zeros(value):
    """Whether `value` is a floating tensor of zeros (two reductions: no temporaries of its size)."""
    if not backend_ops.is_floating(value.dtype) or not math.prod(value.shape):
        return False
    return bool(ops.max(value) == 0.0) and bool(ops.min(value) == 0.0)


def _eager_scope():
    """On TF, `tf.init_scope()`: out of any function being traced; elsewhere a no-op."""
    if not backend_ops.is_tensorflow():
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.init_scope()


def _tf_update_on_every_replica(optimizer, given, learning_rate):
    """All-reduce `{index: gradient}` once, then run the fused update on every replica."""
    import tensorflow as tf

    given = _tf_all_reduce_sum(given)
    anchor = _tf_variable(optimizer._trainable_variables[min(given)])

    def apply_everywhere(strategy, given, learning_rate):
        strategy.extended.update(
            anchor,
            lambda _, given, learning_rate: optimizer._fused_update(given, learning_rate),
            args=(given, learning_rate),
            group=False,
        )

    tf.__internal__.distribute.interim.maybe_merge_call(
        apply_everywhere, optimizer._distribution_strategy, given, learning_rate
    )


def _changed_state_only(rule):
    """`rule` returning only the state entries it changed: an entry passed through a
    compiled call comes back as a copy, which `_write_state` would write back (the
    per-coordinate variable index of `HierarchicalLSTM`, every step)."""

    def call(meta_params, grads, state, *extra):
        updates, new_state = rule(meta_params, grads, state, *extra)
        return updates, {k: v for k, v in new_state.items() if v is not state.get(k)}

    return call


def _tf_cond(finite, update):
    """`update()` if `finite` (a scalar bool tensor), in a graph as in eager mode."""
    import tensorflow as tf

    def run():
        update()
        return tf.constant(True)

    tf.cond(finite, run, lambda: tf.constant(False))


def _tf_checked_finite(optimizer, given):
    """Gradients wrapped in `check_numerics`, so in a graph the check runs before any write."""
    import tensorflow as tf

    if backend_ops.in_xla_context():
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
            f"{optimizer._trainable_variables[index].path}",
        )
        for index, grad in given.items()
    }


def _tf_all_reduce_sum(given):
    """`{index: gradient}` summed over replicas (unchanged outside a multi-replica step)."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return given
    indices = sorted(given)
    reduced = context.all_reduce(tf.distribute.ReduceOp.SUM, [given[i] for i in indices])
    return dict(zip(indices, reduced))


def _tf_variable(variable):
    """The backend variable behind a Keras variable (what `tf.distribute` updates)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def _tf_chunked_rule(optimizer, flat_grads, masks, learning_rate):
    """The flat updates of a rule run `chunk_size` coordinates at a time; writes the state.

    Each chunk's per-coordinate state rows are gathered, stepped and scattered
    back in place, one chunk after another, so the rule's temporaries (for
    the paper's LSTM, gates and cell states of about 1.2 KB per coordinate)
    exist for one chunk only; what is left per parameter is the flat
    gradients and updates. A rule with `sums_per_variable` first sums over
    every chunk, then takes its per-variable step, then steps the chunks.
    """
    import tensorflow as tf

    rule, n, size = optimizer.rule, int(flat_grads.shape[0]), optimizer.chunk_size
    meta = {k: v.value for k, v in optimizer._meta_variables.items()}
    row_variables = {
        key: _tf_variable(variable)
        for key, variable in optimizer._state_variables.items()
        if rule.state_kind(key) == "coordinate"
    }
    # Per variable or global: small, read whole. (Reading the per-coordinate entries
    # whole too would make each scatter below copy its variable: a read is alive.)
    whole = optimizer._current_state(
        [key for key in optimizer._state_variables if key not in row_variables]
    )
    mask = masks["coordinate"]
    chunks = -(-n // size)

    def chunk_inputs(k):
        """A chunk's coordinates, gradients and state (its rows, and the whole of the rest)."""
        start = k * size
        rows = tf.range(start, start + tf.minimum(size, n - start))
        state = {
            key: tf.cast(variable.sparse_read(rows), tf.float32)
            if variable.dtype.is_floating else variable.sparse_read(rows)
            for key, variable in row_variables.items()
        }
        return rows, tf.gather(flat_grads, rows), dict(whole, **state)

    if rule.sums_per_variable:
        coordinate_sums, coordinate_step = _tf_compiled(rule, rule.coordinate_sums, rule.coordinate_step)

        def add_sums(k, sums):
            _, grads, state = chunk_inputs(k)
            return k + 1, sums + coordinate_sums(meta, grads, state)

        first = coordinate_sums(meta, *chunk_inputs(0)[1:])
        _, sums = tf.while_loop(
            lambda k, _: k < chunks, add_sums, (tf.constant(1), first), parallel_iterations=1
        )
        variable_rows, variable_state = rule.variable_step(meta, sums, whole)

    def chunk(k, updates):
        rows, grads, state = chunk_inputs(k)
        if rule.sums_per_variable:
            step, new_state = coordinate_step(meta, grads, state, variable_rows)
        else:
            step, new_state = rule(meta, grads, state)
        step = step * tf.cast(learning_rate, tf.float32)
        new_state = {key: value for key, value in new_state.items() if key in row_variables}
        if mask is not None:  # coordinates without a gradient keep their state
            has = tf.gather(mask, rows)
            step = tf.where(has, step, 0.0)
            new_state = {
                key: tf.where(tf.reshape(has, [-1] + [1] * (len(value.shape) - 1)), value, state[key])
                for key, value in new_state.items()
            }
        for key, value in new_state.items():
            variable = row_variables[key]
            variable.scatter_update(tf.IndexedSlices(tf.cast(value, variable.dtype), rows))
        return k + 1, updates.write(k, step)

    updates = tf.TensorArray(tf.float32, size=chunks, infer_shape=False, element_shape=[None])
    _, updates = tf.while_loop(
        lambda k, _: k < chunks, chunk, (tf.constant(0), updates), parallel_iterations=1
    )
    if rule.sums_per_variable:
        optimizer._write_state(variable_state, whole, masks)
    return tf.ensure_shape(updates.concat(), [n])


def _tf_compiled(rule, *functions):
    """`functions` compiled with XLA if the rule asks for that (`compile_with_xla`), else as they are."""
    import tensorflow as tf

    if not rule.compile_with_xla:
        return functions
    return tuple(tf.function(f, jit_compile=True) for f in functions)
