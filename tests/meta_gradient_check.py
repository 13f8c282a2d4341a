"""Second-order meta-gradients of a rule against central finite differences (float64).

The meta-loss is the sum of a random quadratic's losses over three steps of the rule,
differentiated through the rule and through the inner gradients.
"""

import numpy as np
import tensorflow as tf


def quadratic_meta_loss(rule, initial_state, n, rng, w=None):
    """`meta -> sum of f(theta_t), t = 1..3` for f = |W theta - y|^2; `initial_state()` gives float64 state.
    `w` (n x n) replaces the random W."""
    w = tf.constant(rng.normal(size=(n, n)) if w is None else w)
    target = tf.constant(rng.normal(size=n))
    theta0 = rng.normal(size=n)

    def meta_loss(meta):
        theta, state, total = tf.constant(theta0), initial_state(), 0.0
        for _ in range(3):
            with tf.GradientTape() as inner:
                inner.watch(theta)
                loss = tf.reduce_sum(tf.square(tf.linalg.matvec(w, theta) - target))
            updates, state = rule(meta, inner.gradient(loss, theta), state)
            theta = theta + updates
            total += tf.reduce_sum(tf.square(tf.linalg.matvec(w, theta) - target))
        return total

    return meta_loss


def assert_meta_gradient_matches(meta_loss, meta0, rng, eps=1e-6, rtol=1e-5):
    """Tape gradient of `meta_loss` at `meta0` (float64 numpy dict) vs finite differences
    at two random entries of each meta-parameter; returns the tape gradients."""
    as_tf = lambda meta: {k: tf.constant(v, tf.float64) for k, v in meta.items()}
    variables = as_tf(meta0)
    with tf.GradientTape() as tape:
        tape.watch(variables)
        loss = meta_loss(variables)
    grads = tape.gradient(loss, variables)
    for name, value in meta0.items():
        for index in {tuple(rng.integers(s) for s in value.shape) for _ in range(2)}:
            plus, minus = dict(meta0), dict(meta0)
            plus[name], minus[name] = value.copy(), value.copy()
            plus[name][index] += eps
            minus[name][index] -= eps
            fd = (float(meta_loss(as_tf(plus))) - float(meta_loss(as_tf(minus)))) / (2 * eps)
            got = float(grads[name].numpy()[index])
            assert abs(got - fd) <= rtol * max(1.0, abs(fd)), (name, index, got, fd)
    return {k: g.numpy() for k, g in grads.items()}
