"""Full-batch L-BFGS as a second-order reference: it minimizes `eval_loss` itself.

It runs only on problems whose `eval_loss` is a deterministic full-batch loss
(`Problem.full_batch_skip_reason` is None): the quadratic (no data), the MLPs
and Keras models without random layers (the loss over the whole training
data). L-BFGS sees no minibatch noise, so it is a reference point, not a
competitor under the same conditions.
"""

import time

import numpy as np
import scipy.optimize
import tensorflow as tf

from keras_l2l import flat
from keras_l2l.evaluation import runs


def compile_value_and_grad(problem):
    """Compiled `(eval_loss, flat gradient)` of flat float32 parameters and a seed."""
    shapes = problem.shapes()

    @tf.function
    def value_and_grad(params, seed):
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = problem.eval_loss(flat.unflatten(params, shapes), seed)
        return loss, tape.gradient(loss, params)

    return value_and_grad


def run_lbfgs(value_and_grad, params0, seed, steps):
    """`(curve[steps], final params, final loss, wall-clock seconds per iteration)`.

    `scipy.optimize.minimize(method="L-BFGS-B", maxiter=steps)`; `curve[t]`
    is the full-batch loss before iteration t, like the rollouts' curves. If
    L-BFGS converges (or stops) early, the curve holds its last value.
    """
    seed = runs.seed_tensor(seed)

    def fun(x):
        loss, grad = value_and_grad(tf.constant(x, tf.float32), seed)
        return float(loss), grad.numpy().astype(np.float64)

    curve = [fun(params0.numpy().astype(np.float64))[0]]
    start = time.perf_counter()
    result = scipy.optimize.minimize(
        fun,
        params0.numpy().astype(np.float64),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": steps},
        callback=lambda intermediate_result: curve.append(float(intermediate_result.fun)),
    )
    seconds = time.perf_counter() - start
    curve = (curve + [curve[-1]] * steps)[:steps]
    final = tf.constant(result.x, tf.float32)
    final_loss = float(value_and_grad(final, seed)[0])
    return np.array(curve), final, final_loss, seconds / max(result.nit, 1)
