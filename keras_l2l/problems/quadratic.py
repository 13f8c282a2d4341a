"""The paper's quadratic: f(theta) = ||W theta - y||^2 with random W, y."""

import tensorflow as tf

from keras_l2l.problems.base import Problem


class Quadratic(Problem):
    """`num_problems` independent `dim`-dimensional quadratics per run.

    W and y are drawn per seed, i.i.d. standard normal (paper) or uniform in
    [0, 1) as in the DeepMind code; theta0 ~ N(0, init_scale^2). The loss is the
    *sum* over the independent problems, so each problem's parameters receive
    exactly its own gradient.
    """

    loss_label = "‖Wθ − y‖² (unitless)"
    full_batch_skip_reason = None  # no data: every "batch" is the problem itself

    def __init__(self, dim=10, num_problems=1, distribution="normal", init_scale=0.01):
        if distribution not in ("normal", "uniform"):
            raise ValueError(
                f"distribution must be 'normal' or 'uniform', got {distribution!r}."
            )
        self.dim, self.num_problems = int(dim), int(num_problems)
        self.distribution, self.init_scale = distribution, float(init_scale)
        self.name = f"quadratic{dim}"
        self.eval_set = "the run's own quadratic (no data)"

    def init_params(self, seed):
        key = tf.constant([seed, 1], tf.int64)
        shape = [self.num_problems, self.dim]
        return [self.init_scale * tf.random.stateless_normal(shape, seed=key)]

    def batch(self, seed, step):
        key = tf.stack([tf.cast(seed, tf.int64), tf.constant(2, tf.int64)])
        w_key, y_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        sample = (
            tf.random.stateless_normal
            if self.distribution == "normal"
            else tf.random.stateless_uniform
        )
        w = sample([self.num_problems, self.dim, self.dim], seed=w_key)
        y = sample([self.num_problems, self.dim], seed=y_key)
        return w, y

    def loss(self, params, batch):
        w, y = batch
        residual = tf.einsum("pij,pj->pi", w, params[0]) - y
        return tf.reduce_sum(tf.square(residual))

    def eval_loss(self, params, seed):
        return self.loss(params, self.batch(seed, 0))
