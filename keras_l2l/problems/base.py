"""The optimizee interface: what a meta-trainer and an evaluation need from a problem."""

import tensorflow as tf


class Problem:
    """An optimization problem as pure functions of explicit tensors.

    A problem instance and its data stream are deterministic in a seed, and
    everything here runs inside `tf.function` with no host round-trips:
    - `init_params(seed)`: the optimizee's initial parameters, a list of tensors.
    - `batch(seed, step)`: the data for one step (graph ops; `seed` and `step`
      may be tensors). For problems with no data, the instance itself.
    - `loss(params, batch)`: a scalar; its gradient is what the optimizer sees.
    - `eval_loss(params, seed)`: loss of final parameters on the fixed
      evaluation set described by `eval_set`.
    - `test_metric(params, seed)`: e.g. test accuracy, or None.

    Evaluation describes a problem through these attributes, never its class:
    - `eval_set`: what `eval_loss` is computed on, in words;
    - `test_metric_name`: the name of `test_metric`, None when it has none;
    - `loss_label`: the loss's quantity and units (a plot's y-axis);
    - `full_batch_skip_reason`: None when `eval_loss` is a deterministic
      full-batch loss of the parameters, else why not. Full-batch methods
      (the L-BFGS reference) minimize `eval_loss` itself, so they run only
      when it is None; the reason is reported when they are skipped.
    """

    name = "problem"
    eval_set = ""
    test_metric_name = None
    loss_label = "loss"
    full_batch_skip_reason = "its eval_loss is not declared a deterministic full-batch loss"

    def init_params(self, seed):
        raise NotImplementedError

    def batch(self, seed, step):
        raise NotImplementedError

    def loss(self, params, batch):
        raise NotImplementedError

    def eval_loss(self, params, seed):
        raise NotImplementedError

    def test_metric(self, params, seed):
        return None

    def shapes(self):
        """Parameter shapes (the same for every seed)."""
        return [tuple(p.shape) for p in self.init_params(0)]


def sample_indices(seed, step, batch_size, num_examples):
    """Deterministic minibatch indices for (seed, step), sampled with replacement."""
    key = tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])
    return tf.random.stateless_uniform(
        [batch_size], seed=key, maxval=num_examples, dtype=tf.int32
    )


def batched_mean(fn, x, y, chunk=10000):
    """Mean of `fn(x_chunk, y_chunk)` (a per-example vector) over the whole set."""
    total = 0.0
    for start in range(0, int(x.shape[0]), chunk):
        total += tf.reduce_sum(fn(x[start : start + chunk], y[start : start + chunk]))
    return total / int(x.shape[0])
