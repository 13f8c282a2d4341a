"""`TrainedRule`: an update rule, its meta-parameters and their provenance, as one value.

Everything that holds a trained optimizer passes this value around: presets
load and save it, `MetaTrainer` starts from one and produces one, evaluation
takes one, and `LearnedOptimizer` wraps one. Its constructor is the single
place where meta-parameters are checked (names, shapes, dtypes, finiteness).
"""

import json
from types import MappingProxyType

import keras
import numpy as np

from keras_l2l.rules import backend_ops
from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.registry import serialize_rule


class TrainedRule:
    """An immutable (rule, meta-parameters, provenance) triple.

    Args:
        rule: an `UpdateRule` of a registered class (so its config can be saved).
        meta_params: `{name: array}` with exactly the rule's names and shapes
            (`rule.meta_param_shapes()`), real and finite; stored as read-only
            float32 numpy arrays.
        provenance: a JSON-serializable dict saying how it was made.
        name: the preset name it was loaded as, kept for the record only.

    Raises `ValueError` naming the first problem found; nothing is built then.
    """

    def __init__(self, rule, meta_params, provenance=None, name=None):
        if not isinstance(rule, UpdateRule):
            raise TypeError(f"`rule` must be an UpdateRule, got {type(rule).__name__}.")
        serialize_rule(rule)  # a rule that could not be saved is refused up front
        self._rule = rule
        self._meta_params = MappingProxyType(checked_meta_params(rule, meta_params))
        provenance = dict(provenance or {})
        try:
            json.dumps(provenance)
        except TypeError as error:
            raise ValueError(f"Provenance must be JSON-serializable: {error}") from error
        self._provenance = MappingProxyType(provenance)
        self._name = str(name) if name else None

    @classmethod
    def untrained(cls, rule, seed=0):
        """The rule at its deterministic initial meta-parameters `rule.init_meta_params(seed)`."""
        return cls(rule, rule.init_meta_params(seed), {"untrained": True, "seed": int(seed)})

    @classmethod
    def from_preset(cls, preset):
        """A shipped preset name or a preset directory (see `keras_l2l.presets`)."""
        from keras_l2l import presets

        return presets.load_preset(preset)

    def save_to_preset(self, directory):
        """Write this value as a preset directory (atomically; see `presets.save_preset`)."""
        from keras_l2l import presets

        return presets.save_preset(directory, self)

    @property
    def rule(self):
        return self._rule

    @property
    def meta_params(self):
        """`{name: read-only float32 numpy array}` in the rule's order."""
        return self._meta_params

    @property
    def provenance(self):
        return self._provenance

    @property
    def name(self):
        return self._name

    def replace(self, meta_params=None, provenance=None, name=None):
        """A copy with some fields changed (the new meta-parameters are checked)."""
        return TrainedRule(
            self._rule,
            self._meta_params if meta_params is None else meta_params,
            dict(self._provenance) if provenance is None else provenance,
            self._name if name is None else name,
        )

    def reconfigured(self, **changes):
        """This rule with some config values changed, its meta-parameters carried over by
        `rule.adapt_meta_params` (e.g. zero weights for added inputs, so it acts as before)."""
        config = self.rule_config()
        rule = type(self._rule).from_config({**config["config"], **changes})
        provenance = {"reconfigured_from": self._name or "unnamed", "changes": changes}
        meta_params = rule.adapt_meta_params(self._meta_params, self._rule)
        return TrainedRule(rule, meta_params, provenance, name=self._name)

    def meta_tensors(self):
        """The meta-parameters as float32 tensors of the Keras backend, for calling the rule."""
        return {k: backend_ops.constant(v) for k, v in self._meta_params.items()}

    def rule_config(self):
        """`{"class_name", "config"}`: enough to rebuild the rule (not its weights)."""
        return serialize_rule(self._rule)

    def __repr__(self):
        label = f" {self._name!r}" if self._name else ""
        size = sum(v.size for v in self._meta_params.values())
        return f"<TrainedRule{label}: {type(self._rule).__name__}, {size} meta-parameters>"


def checked_meta_params(rule, meta_params):
    """Read-only float32 copies of `meta_params`, after checking them against `rule`."""
    try:
        given = {k: _as_array(v) for k, v in dict(meta_params).items()}
    except (TypeError, ValueError) as error:
        raise ValueError(f"Meta-parameters must be a dict of arrays: {error}") from error
    expected = {k: tuple(s) for k, s in rule.meta_param_shapes().items()}
    shapes = {k: tuple(v.shape) for k, v in given.items()}
    if shapes != expected:
        raise ValueError(
            "Meta-weights do not match the architecture "
            f"{serialize_rule(rule)}: expected {expected}, got {shapes}."
        )
    checked = {}
    for key in expected:  # validate every array before returning any
        value = given[key]
        if not np.can_cast(value.dtype, np.float64, casting="same_kind"):
            raise ValueError(
                f"Meta-weight {key!r} has dtype {value.dtype}; expected real numbers "
                "(a float, integer or bool array; stored as float32)."
            )
        value = np.array(value, np.float32)
        if not np.all(np.isfinite(value)):
            raise ValueError(f"Meta-weight {key!r} is not finite (contains NaN or Inf).")
        value.setflags(write=False)
        checked[key] = value
    return checked


def _as_array(value):
    """A numpy view of an array, number or tensor of any backend (e.g. on a GPU)."""
    try:
        return np.asarray(value)
    except (TypeError, RuntimeError):  # a tensor numpy cannot read directly
        return np.asarray(keras.ops.convert_to_numpy(value))
