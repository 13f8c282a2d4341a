"""Hand-written optimizers as pure rules, step-for-step equal to `keras.optimizers`.

They run through the same compiled rollout as learned rules, so a comparison
sees identical parameters and batches. The learning rate is the only
meta-parameter, so one trace serves a whole learning-rate grid; every other
hyper-parameter is fixed at construction (defaults are Keras'). Written in
`keras.ops`, like the learned rules, so they run on every Keras backend.
"""

from keras import ops

from keras_l2l.rules import backend_ops
from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.registry import register_rule


class _LearningRateRule(UpdateRule):
    """A rule whose meta-parameters are just `{"learning_rate": scalar}`."""

    def __init__(self, learning_rate):
        self.learning_rate = float(learning_rate)

    def init_meta_params(self, seed=0):
        return {"learning_rate": backend_ops.constant(self.learning_rate)}

    def get_config(self):
        return {"learning_rate": self.learning_rate}


@register_rule
class SGD(_LearningRateRule):
    """`keras.optimizers.SGD()`: `update = -lr * g`."""

    def __init__(self, learning_rate=0.01):
        super().__init__(learning_rate)

    def init_state(self, num_coordinates):
        return {}

    def __call__(self, meta_params, grads, state):
        return -grads * meta_params["learning_rate"], {}


@register_rule
class Momentum(_LearningRateRule):
    """`keras.optimizers.SGD(momentum=0.9)`: `m = momentum * m - lr * g; update = m`."""

    nesterov = False

    def __init__(self, learning_rate=0.01, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = float(momentum)

    def init_state(self, num_coordinates):
        return {"momentum": ops.zeros([num_coordinates], "float32")}

    def __call__(self, meta_params, grads, state):
        step = grads * meta_params["learning_rate"]
        m = state["momentum"] * self.momentum - step
        update = m * self.momentum - step if self.nesterov else m
        return update, {"momentum": m}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


@register_rule
class Nesterov(Momentum):
    """`keras.optimizers.SGD(momentum=0.9, nesterov=True)`: `update = momentum * m - lr * g`."""

    nesterov = True


@register_rule
class RMSprop(_LearningRateRule):
    """`keras.optimizers.RMSprop()`: `v = rho v + (1 - rho) g^2; update = -lr g / sqrt(v + eps)`."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def init_state(self, num_coordinates):
        return {"velocity": ops.zeros([num_coordinates], "float32")}

    def __call__(self, meta_params, grads, state):
        v = self.rho * state["velocity"] + (1 - self.rho) * ops.square(grads)
        update = -(meta_params["learning_rate"] * grads) / ops.sqrt(v + self.epsilon)
        return update, {"velocity": v}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


@register_rule
class Adam(_LearningRateRule):
    """`keras.optimizers.Adam()`, with Keras' bias correction folded into the step size.

    `alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)`, `update = -alpha m / (sqrt(v) + eps)`
    (epsilon outside the square root and not bias-corrected, as Keras does).
    The step counter `t` is a global scalar state entry.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = float(epsilon)

    def init_state(self, num_coordinates):
        zeros = ops.zeros([num_coordinates], "float32")
        return {"m": zeros, "v": zeros, "step": ops.zeros([], "float32")}

    def state_kind(self, key):
        return "global" if key == "step" else "coordinate"

    def __call__(self, meta_params, grads, state):
        step = state["step"] + 1.0
        beta_1_power = ops.power(backend_ops.constant(self.beta_1), step)
        beta_2_power = ops.power(backend_ops.constant(self.beta_2), step)
        alpha = meta_params["learning_rate"] * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m = state["m"] + (grads - state["m"]) * (1 - self.beta_1)
        v = state["v"] + (ops.square(grads) - state["v"]) * (1 - self.beta_2)
        update = -(m * alpha) / (ops.sqrt(v) + self.epsilon)
        return update, {"m": m, "v": v, "step": step}

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


@register_rule
class AdamW(Adam):
    """`keras.optimizers.AdamW()`: decoupled weight decay, then the Adam step.

    Keras first shrinks each variable by `lr * weight_decay * var`, then adds
    the Adam update (which does not depend on the variable), so the update is
    `-lr * weight_decay * params + adam_update`. The decay needs the
    parameters, hence `needs_params`.
    """

    needs_params = True

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7):
        super().__init__(learning_rate, beta_1, beta_2, epsilon)
        self.weight_decay = float(weight_decay)

    def __call__(self, meta_params, grads, state, params):
        update, state = super().__call__(meta_params, grads, state)
        decay = params * (meta_params["learning_rate"] * self.weight_decay)
        return update - decay, state

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


BASELINES = {
    "sgd": SGD,
    "momentum": Momentum,
    "nag": Nesterov,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}
