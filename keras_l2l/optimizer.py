"""`LearnedOptimizer`: a Keras optimizer whose step is a learned update rule."""

import keras
import numpy as np
import tensorflow as tf

from keras_l2l import flat, presets
from keras_l2l.rules import CoordinatewiseLSTM

NAN_POLICIES = ("skip", "raise")
STATE_DTYPES = ("float32", "bfloat16", "float16")


@keras.saving.register_keras_serializable(package="keras_l2l")
class LearnedOptimizer(keras.optimizers.Optimizer):
    """A coordinatewise LSTM optimizer (Andrychowicz et al., 2016) for Keras.

    The update comes from the same pure rule the meta-trainer differentiates
    through (`keras_l2l.rules.CoordinatewiseLSTM`). All of a model's variables
    are updated by one fused rule call per step: gradients are flattened and
    concatenated, the LSTM runs once over all coordinates, and the updates are
    split back. The meta-parameters and every coordinate's LSTM state are
    optimizer variables, so `model.save()` and `tf.train.Checkpoint` keep them.

    Args:
        learning_rate: multiplies the rule's output (1.0 = the rule as trained);
            a float or a Keras learning-rate schedule.
        preset: a shipped preset name or preset directory whose trained rule
            to use (see `keras_l2l.list_presets()`); None for an untrained rule.
            The default, "default", is the default preset when no architecture
            argument is given, and an untrained rule of that architecture otherwise.
        units, num_layers, preprocessing, preprocessing_p, output_scale: the
            rule's architecture, see `CoordinatewiseLSTM` (taken from the
            preset when one is given; None means the paper's default).
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
        given = {
            "units": units,
            "num_layers": num_layers,
            "preprocessing": preprocessing,
            "preprocessing_p": preprocessing_p,
            "output_scale": output_scale,
        }
        given = {k: v for k, v in given.items() if v is not None}
        if preset == "default":
            preset = None if given else presets.DEFAULT_PRESET
        weights = None
        if preset is not None:
            architecture, weights, _ = presets.load_preset(preset)
            conflicting = {k: v for k, v in given.items() if architecture.get(k) != v}
            if conflicting:
                raise ValueError(
                    f"Preset {preset!r} has architecture {architecture}; the "
                    f"arguments {conflicting} contradict it. Drop them, or pass "
                    "preset=None for an untrained optimizer of your own architecture."
                )
            given = architecture
        self.rule = CoordinatewiseLSTM(**given)
        self.preset = preset
        self.seed = seed
        self.nan_policy = nan_policy
        self.state_dtype = state_dtype
        self._meta_variables = {
            key: self.add_variable(
                value.shape, initializer=_constant(value), name=f"meta_{key}"
            )
            for key, value in self.rule.init_meta_params(seed).items()
        }
        self.skipped_steps = self.add_variable(
            (), initializer="zeros", dtype="int64", name="skipped_steps"
        )
        if weights is not None:
            self.set_meta_weights(weights)

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """An optimizer with a preset's trained rule: a shipped name or a directory.

        `keras_l2l.list_presets()` lists the shipped names; `kwargs` are the
        other constructor arguments (`learning_rate`, `nan_policy`, ...).
        """
        return cls(preset=preset, **kwargs)

    @property
    def meta_variables(self):
        """The rule's meta-parameters (LSTM and output kernels), in saved order."""
        return list(self._meta_variables.values())

    def get_meta_weights(self):
        """Meta-parameters as `{name: numpy array}`."""
        return {k: np.array(v.numpy()) for k, v in self._meta_variables.items()}

    def set_meta_weights(self, weights):
        """Set the meta-parameters from `{name: array}` with the rule's names and shapes."""
        expected = {k: tuple(v.shape) for k, v in self._meta_variables.items()}
        given = {k: tuple(np.shape(v)) for k, v in weights.items()}
        if given != expected:
            raise ValueError(
                "Meta-weights do not match this optimizer's architecture "
                f"({self.rule.get_config()}): expected {expected}, got {given}."
            )
        for key, value in weights.items():  # validate all before assigning any
            dtype = np.asarray(value).dtype
            if not np.can_cast(dtype, np.float64, casting="same_kind"):
                raise ValueError(
                    f"Meta-weight {key!r} has dtype {dtype}; expected real numbers "
                    "(a float, integer or bool array; stored as float32)."
                )
            if not np.all(np.isfinite(np.asarray(value, np.float64))):
                raise ValueError(f"Meta-weight {key!r} contains NaN or Inf.")
        for key, value in weights.items():
            self._meta_variables[key].assign(np.asarray(value, np.float32))

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._shapes = [tuple(v.shape) for v in var_list]
        num_coordinates = sum(flat.sizes_of(self._shapes))
        self._state_variables = {
            key: self.add_variable(
                value.shape,
                initializer=_constant(value),
                dtype=self.state_dtype,
                name=f"state_{key}",
            )
            for key, value in self.rule.init_state(num_coordinates).items()
        }

    def rule_state(self):
        """Current rule state as float32 tensors `{name: [n, ...]}`."""
        return {k: tf.cast(v, tf.float32) for k, v in self._state_variables.items()}

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        """One fused rule call for all variables (replaces per-variable `update_step`)."""
        given = {
            self._get_variable_index(v): _dense(g) for g, v in zip(grads, trainable_variables)
        }
        if self.nan_policy == "raise":
            if _in_xla_context():
                raise ValueError(
                    "LearnedOptimizer(nan_policy='raise') cannot stop an XLA-compiled "
                    "step: XLA drops tf.debugging.check_numerics, so a non-finite "
                    "gradient would go unnoticed. Compile without XLA "
                    "(`model.compile(..., jit_compile=False)`, or `tf.function` without "
                    "`jit_compile=True`), or use nan_policy='skip' and watch "
                    "`optimizer.skipped_steps`."
                )
            # Everything below consumes the checked tensors, so in a graph the
            # check runs before any variable is written.
            given = {
                index: tf.debugging.check_numerics(
                    grad,
                    "LearnedOptimizer: non-finite gradient for "
                    f"{self._trainable_variables[index].path}",
                )
                for index, grad in given.items()
            }
        pieces = [
            given[i] if i in given else tf.zeros(shape)
            for i, shape in enumerate(self._shapes)
        ]
        flat_grads = flat.flatten(pieces)
        keep = None
        if len(given) < len(self._shapes):  # variables without a gradient stay put
            keep = tf.concat(
                [
                    tf.fill([size], i in given)
                    for i, size in enumerate(flat.sizes_of(self._shapes))
                ],
                0,
            )

        def update():
            meta_params = {k: v.value for k, v in self._meta_variables.items()}
            state = self.rule_state()
            updates, new_state = self.rule(meta_params, flat_grads, state)
            updates = updates * tf.cast(learning_rate, tf.float32)
            if keep is not None:
                updates = tf.where(keep, updates, 0.0)
            for key, variable in self._state_variables.items():
                value = new_state[key]
                if keep is not None:
                    mask = tf.reshape(keep, [-1] + [1] * (len(variable.shape) - 1))
                    value = tf.where(mask, value, state[key])
                variable.assign(tf.cast(value, variable.dtype))
            for index, update in enumerate(flat.unflatten(updates, self._shapes)):
                if index in given:
                    variable = self._trainable_variables[index]
                    self.assign_add(variable, tf.cast(update, variable.dtype))
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

    def get_config(self):
        config = super().get_config()
        config.update(self.rule.get_config())
        config.update(
            preset=None if self.preset is None else str(self.preset),
            seed=self.seed,
            nan_policy=self.nan_policy,
            state_dtype=self.state_dtype,
        )
        return config


def _dense(grad):
    """A dense float32 gradient (`IndexedSlices` from embeddings are scattered)."""
    return tf.cast(tf.convert_to_tensor(grad), tf.float32)


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
