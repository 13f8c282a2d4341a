"""Running a rule on a problem: the one optimization loop every tool shares.

Validation during meta-training and the evaluation harness both call this,
so learned and hand-written rules see identical parameters and batches.
"""

import tensorflow as tf

from keras_l2l import flat


def loss_and_flat_grad(problem, flat_params, shapes, batch, scale=None):
    """Loss at `flat_params` (times the per-coordinate `scale`) and its flat gradient."""
    with tf.GradientTape() as tape:
        tape.watch(flat_params)
        scaled = flat_params if scale is None else flat_params * scale
        loss = problem.loss(flat.unflatten(scaled, shapes), batch)
    return loss, tape.gradient(loss, flat_params)


def optimizee_step(rule, problem, shapes, meta_params, params, state, seed, step, scale=None,
                   stop_gradient=False):
    """One optimizee step, shared by every loop: `(loss, grads, updates, new_state)`.

    The loss and flat gradient are taken on the batch of `(seed, step)`;
    `stop_gradient` hides the gradient's dependence on the meta-parameters
    from a meta-gradient (the paper's first-order approximation). A rule with
    `needs_params` also gets `params`, the stored (unscaled) vector, as the
    gradient is with respect to it.
    """
    batch = problem.batch(seed, step)
    loss, grads = loss_and_flat_grad(problem, params, shapes, batch, scale)
    if stop_gradient:
        grads = tf.stop_gradient(grads)
    extra = (params,) if rule.needs_params else ()
    updates, state = rule(meta_params, grads, state, *extra)
    return loss, grads, updates, state


def make_rollout(rule, problem):
    """A compiled `run(meta_params, params, seed, steps) -> (losses[steps], final params)`.

    `losses[t]` is the minibatch loss at the parameters before update t; the
    loop is a `tf.while_loop`, so long horizons do not grow the graph, and
    `seed`, `steps` and `meta_params` are tensors, so one trace serves every
    seed, horizon and learning rate. A rule that reads the run's length is
    told `steps` (`UpdateRule.with_horizon`). `params` is the flat initial parameter
    vector, `flat.flatten(problem.init_params(seed))`. A rule with `compile_with_xla`
    is stepped by an XLA-compiled call.
    """
    shapes = problem.shapes()
    if rule.compile_with_xla:
        rule = _XlaCompiled(rule)

    @tf.function
    def run(meta_params, params, seed, steps):
        state = rule.with_horizon(rule.initial_state_for(shapes), steps)
        losses = tf.TensorArray(tf.float32, size=steps)

        def body(t, params, state, losses):
            loss, _, updates, state = optimizee_step(
                rule, problem, shapes, meta_params, params, state, seed, t
            )
            return t + 1, params + updates, state, losses.write(t, loss)

        _, params, _, losses = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), params, state, losses)
        )
        return losses.stack(), params

    return run


class _XlaCompiled:
    """`rule` with its call compiled by XLA, its other attributes as they are."""

    def __init__(self, rule):
        self._rule, self._call = rule, tf.function(rule, jit_compile=True)

    def __getattr__(self, name):
        return getattr(self._rule, name)

    def __call__(self, *args):
        return self._call(*args)
