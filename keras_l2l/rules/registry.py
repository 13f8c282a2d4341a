"""Rule classes by name, so a saved rule config names its class and any family plugs in.

A rule travels as `{"class_name": ..., "config": rule.get_config()}`; this is
how presets, `TrainedRule` configs and `LearnedOptimizer` configs store it.
"""

RULES = {}


def register_rule(cls):
    """Class decorator: make `cls` loadable from `{"class_name": cls.__name__, ...}`."""
    name = cls.__name__
    if RULES.get(name, cls) is not cls:
        raise ValueError(f"Another rule class is already registered as {name!r}.")
    RULES[name] = cls
    return cls


def serialize_rule(rule):
    """`{"class_name", "config"}` of a registered rule."""
    name = type(rule).__name__
    if RULES.get(name) is not type(rule):
        raise ValueError(
            f"{name} is not a registered rule class; decorate it with "
            "`keras_l2l.rules.register_rule` so saved rules can name it."
        )
    return {"class_name": name, "config": rule.get_config()}


def deserialize_rule(spec):
    """The rule described by `{"class_name", "config"}` (as `serialize_rule` writes)."""
    if not isinstance(spec, dict) or set(spec) != {"class_name", "config"}:
        raise ValueError(
            f"A rule config must be {{'class_name': ..., 'config': {{...}}}}, got {spec!r}."
        )
    cls = RULES.get(spec["class_name"])
    if cls is None:
        raise ValueError(
            f"Unknown rule class {spec['class_name']!r}; registered: {sorted(RULES)}."
        )
    try:
        return cls.from_config(dict(spec["config"]))
    except TypeError as error:  # unknown or missing constructor arguments
        raise ValueError(f"Invalid config for {spec['class_name']}: {error}") from error
