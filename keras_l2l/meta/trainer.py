"""`MetaTrainer`: learn a rule's meta-parameters by gradient descent through unrolled runs."""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_l2l import flat
from keras_l2l.meta.weights import meta_loss_weights
from keras_l2l.rollout import make_rollout, optimizee_step
from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.baselines import Adam
from keras_l2l.trained_rule import TrainedRule

TRAINING_SEED_BASE = 1_000_000  # meta-training runs; evaluation uses seeds < 500_000
VALIDATION_SEED_BASE = 500_000


class MetaTrainer:
    """Meta-trains a rule on one problem or a mixture, and produces a `TrainedRule`.

    One epoch is one optimizee run of `horizon` steps from fresh parameters on
    a fresh problem instance, cut into `horizon / unroll` truncations; each
    truncation is a compiled unroll whose meta-loss `sum_t w_t f(theta_t)` is
    differentiated with respect to the rule's meta-parameters and applied by
    `meta_optimizer`. Parameters and rule state carry over between truncations.

    The trainer owns its meta-parameters (`meta_variables`, `{name: variable}`),
    its meta-optimizer state and its checkpoints; `trained_rule()` hands the
    result out as a `TrainedRule`.

    Args:
        start: where meta-training starts: a `TrainedRule` (e.g. a preset from
            `TrainedRule.from_preset`), an `UpdateRule` (untrained, at
            `init_meta_params(seed)`), or a `LearnedOptimizer`, whose
            meta-weights are then set to the result at the end of every `fit`.
        problems: a `Problem` or a list of them (one is drawn per epoch).
        tasks_per_step: with several problems, each meta-step runs this many
            (consecutive problems of the list form fixed groups; one group is
            drawn per epoch) in one compiled call and averages their
            meta-losses, for a lower-variance meta-gradient over a task family.
        horizon, unroll: optimizee steps per run and per truncation. `horizon`
            may be a list: each run's length is then drawn from it, and a
            rule that reads the run's length (`with_horizon`) is told it,
            except in a fraction `unknown_horizon_prob` of runs, so that it
            also learns to run without knowing it.
        meta_optimizer: a Keras optimizer (default Adam 1e-3).
        meta_loss: "uniform" (paper), "final", "exponential" or a callable
            `(t, horizon) -> weight`; `log_loss` uses log f instead of f.
        second_order: keep second derivatives (by default the optimizee
            gradient fed to the rule is wrapped in `tf.stop_gradient`).
        clip_norm: global-norm clip of the meta-gradient (None: no clipping).
        random_scaling: if > 0, each run sees f(c * theta) with per-coordinate
            c = exp(U(-r, r)) (Lv et al. 2017).
        imitation_prob, imitation_rule: with this probability a run trains the
            rule to imitate `imitation_rule`'s steps (default Adam 0.01) on
            its own trajectory (Chen et al. 2020) instead of lowering the loss.
        validation_every, validation_runs, validation_horizon: validate every
            N epochs on `validation_runs` fresh seeds and keep the best
            meta-parameters (a list of validation horizons: run i of problem
            p uses the (i // problems)-th, cyclically) (by mean minibatch loss over the run, or the loss
            over its last tenth with `validation_metric="final"`).
        checkpoint_dir: `tf.train.CheckpointManager` directory; training resumes
            from it. log_dir: TensorBoard scalars.
        max_bad_steps: after this many consecutive non-finite meta-steps the
            last good meta-parameters are restored and the meta learning rate
            halved.
        seed: base seed of the run sequence (problem choice, instances, scaling).

    Data-parallel meta-training: create the trainer inside a `tf.distribute`
    strategy's `scope()` (as with `model.compile`). Each meta-step's group of
    `tasks_per_step` problems is then split over the replicas and their
    meta-gradients are all-reduced, so the meta-weights follow the same path
    as on one device, faster.
    """

    def __init__(
        self,
        start,
        problems,
        horizon=100,
        unroll=20,
        meta_optimizer=None,
        meta_loss="uniform",
        log_loss=False,
        second_order=False,
        clip_norm=None,
        random_scaling=0.0,
        validation_every=10,
        validation_runs=10,
        validation_horizon=None,
        validation_metric="mean",
        checkpoint_dir=None,
        checkpoint_every=10,
        log_dir=None,
        max_bad_steps=10,
        imitation_prob=0.0,
        imitation_rule=None,
        tasks_per_step=1,
        unknown_horizon_prob=0.0,
        seed=0,
        jit_compile=False,
    ):
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                "MetaTrainer runs on the TensorFlow backend only: it differentiates through "
                "unrolled optimization with tf.GradientTape inside tf.function. KERAS_BACKEND is "
                f"{keras.backend.backend()!r}; meta-train with KERAS_BACKEND=tensorflow, then use "
                "the TrainedRule / preset with LearnedOptimizer on any backend."
            )
        self.horizons = [int(h) for h in np.atleast_1d(horizon)]
        if any(h % unroll or h < 1 for h in self.horizons):
            raise ValueError(f"horizon ({horizon}) must be a multiple of unroll ({unroll}).")
        if validation_metric not in ("mean", "final"):
            raise ValueError("validation_metric must be 'mean' or 'final'.")
        self.start, self.optimizer = _starting_point(start, seed)
        self.rule = self.start.rule
        self.problems = list(problems) if isinstance(problems, (list, tuple)) else [problems]
        self.tasks_per_step = int(tasks_per_step)
        self.groups = _groups(self.problems, self.tasks_per_step)
        self.horizon, self.unroll = max(self.horizons), int(unroll)
        self.weights = {h: meta_loss_weights(meta_loss, h) for h in self.horizons}
        self.log_loss, self.second_order = log_loss, second_order
        self.clip_norm, self.random_scaling = clip_norm, float(random_scaling)
        self.validation_every, self.validation_runs = validation_every, validation_runs
        self.validation_horizons = [int(h) for h in np.atleast_1d(validation_horizon or self.horizon)]
        self.validation_metric = validation_metric
        self.checkpoint_every, self.max_bad_steps, self.seed = checkpoint_every, max_bad_steps, seed
        self.jit_compile = jit_compile
        self.strategy = tf.distribute.get_strategy()
        if jit_compile and self.strategy.num_replicas_in_sync > 1:
            raise ValueError(
                "MetaTrainer(jit_compile=True) runs on one device; under a strategy with "
                f"{self.strategy.num_replicas_in_sync} replicas use jit_compile=False."
            )
        self.imitation_prob = float(imitation_prob)
        self.unknown_horizon_prob = float(unknown_horizon_prob)
        self.imitation_rule = imitation_rule or Adam(learning_rate=0.01)
        self.imitation_meta = self.imitation_rule.init_meta_params()
        self.meta_variables = _variables(self.start.meta_params, "meta")
        self.best_meta = _variables(self.start.meta_params, "best_meta", trainable=False)
        self.meta_optimizer = meta_optimizer or keras.optimizers.Adam(1e-3)
        self.meta_optimizer.build(list(self.meta_variables.values()))
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.best_validation = tf.Variable(math.inf, trainable=False)
        self.skipped_meta_steps = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._truncations, self._rollouts, self.history = {}, {}, {}
        self.manager = self._restore_checkpoint(checkpoint_dir)
        self._good = self._snapshot()
        self.writer = tf.summary.create_file_writer(log_dir) if log_dir else None

    def _restore_checkpoint(self, checkpoint_dir):
        """The checkpoint manager of `checkpoint_dir` (None without one), after resuming from it."""
        self.checkpoint = tf.train.Checkpoint(
            meta=[v.value for v in self.meta_variables.values()],
            meta_optimizer=self.meta_optimizer,
            epoch=self.epoch,
            best_validation=self.best_validation,
            best_meta=[v.value for v in self.best_meta.values()],
            skipped_meta_steps=self.skipped_meta_steps,
        )
        if not checkpoint_dir:
            return None
        manager = tf.train.CheckpointManager(self.checkpoint, checkpoint_dir, max_to_keep=3)
        if manager.latest_checkpoint:
            self.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        return manager

    # -- one truncation -------------------------------------------------------

    def _truncation_fn(self, group, imitate=False):
        """The compiled truncation for a group of problems (traced once per group and mode).

        It runs `unroll` optimizee steps of every problem in the group under
        one tape, then applies the gradient of their mean meta-loss unless it
        or the meta-loss is not finite. Arguments and results other than
        `start` and `weights` are lists with one entry per problem.

        Under a multi-replica strategy, replica r runs the problems i with
        i % replicas == r; their meta-gradients are summed across replicas,
        so every replica applies the same mean meta-gradient as one device
        running the whole group would.
        """
        key = (tuple(id(problem) for problem in group), imitate)
        if key not in self._truncations:
            meta = {k: v.value for k, v in self.meta_variables.items()}
            replicas = self.strategy.num_replicas_in_sync

            def replica_truncation(params, state, teacher_state, seed, start, weights, scale):
                replica = _replica_id()
                carried, meta_losses, losses = [], [], []
                with tf.GradientTape(watch_accessed_variables=False) as tape:
                    tape.watch(list(meta.values()))
                    for i, problem in enumerate(group):
                        if i % replicas != replica:  # another replica's problem: passed through
                            carried.append((params[i], state[i], teacher_state[i]))
                            continue
                        *run, meta_loss, run_losses = self._unroll(
                            problem, imitate, meta, params[i], state[i], teacher_state[i],
                            seed[i], start, weights, scale[i],
                        )
                        carried.append(run)
                        meta_losses.append(meta_loss)
                        losses.append(tf.reduce_mean(run_losses))
                    local_meta_loss = _sum(meta_losses) / len(group)
                grads = tape.gradient(
                    local_meta_loss, list(meta.values()),
                    unconnected_gradients=tf.UnconnectedGradients.ZERO,
                )
                # The meta-optimizer sums the replicas' gradients itself (as
                # Keras optimizers do under a strategy); norm and finiteness
                # are those of the sum, so every replica takes the same step.
                total_grads, meta_loss, loss = _sum_over_replicas(
                    (grads, local_meta_loss, _sum(losses) / len(group))
                )
                grad_norm = tf.linalg.global_norm(total_grads)
                if self.clip_norm:
                    scale = self.clip_norm / tf.maximum(grad_norm, self.clip_norm)
                    grads = [g * scale for g in grads]
                params, state, teacher_state = (list(values) for values in zip(*carried))
                return params, state, teacher_state, grads, meta_loss, loss, grad_norm

            @tf.function(jit_compile=self.jit_compile)
            def truncation(*args):
                *carried, grads, meta_loss, loss, grad_norm = self.strategy.run(
                    replica_truncation, args=args
                )
                meta_loss, loss, grad_norm = (
                    self.strategy.experimental_local_results(v)[0]
                    for v in (meta_loss, loss, grad_norm)
                )
                ok = tf.math.is_finite(meta_loss) & tf.math.is_finite(grad_norm)
                self._apply_meta_gradient(grads, ok)
                return (*carried, meta_loss, loss, grad_norm, ok)

            self._truncations[key] = truncation
        return self._truncations[key]

    def _unroll(self, problem, imitate, meta, params, state, teacher_state, seed, start,
                weights, scale):
        """`unroll` steps from step `start`; returns the carried values, meta-loss and losses.

        A while loop rather than a Python unroll: under XLA an unrolled
        truncation let the fusion pass merge the elementwise cell-state
        recursion of all steps and duplicate it into every step's backward
        pass (compile time and run time growing with unroll^2). With
        `imitate`, the meta-loss is the mean squared difference between the
        rule's updates and the teacher's on the same gradients.
        """
        shapes = problem.shapes()

        def step(t, params, state, teacher_state, losses, *mismatch):
            loss, grads, updates, state = optimizee_step(
                self.rule, problem, shapes, meta, params, state, seed, start + t,
                scale=scale, stop_gradient=not self.second_order,
            )
            if imitate:
                target, teacher_state = self.imitation_rule(self.imitation_meta, grads, teacher_state)
                mismatch = (mismatch[0].write(t, tf.reduce_mean(tf.square(updates - target))),)
            losses = losses.write(t, loss)
            return (t + 1, params + updates, state, teacher_state, losses, *mismatch)

        arrays = [tf.TensorArray(tf.float32, size=self.unroll) for _ in range(1 + imitate)]
        _, params, state, teacher_state, losses, *mismatch = tf.while_loop(
            lambda t, *_: t < self.unroll,
            step,
            (tf.constant(0), params, state, teacher_state, *arrays),
            maximum_iterations=self.unroll,
        )
        final_loss = problem.loss(
            flat.unflatten(params * scale, shapes), problem.batch(seed, start + self.unroll)
        )
        losses = tf.concat([losses.stack()[1:], final_loss[None]], 0)
        if imitate:
            return params, state, teacher_state, tf.reduce_mean(mismatch[0].stack()), losses
        terms = tf.math.log(tf.maximum(losses, 1e-30)) if self.log_loss else losses
        return params, state, teacher_state, tf.reduce_sum(weights * terms) / self.unroll, losses

    def _apply_meta_gradient(self, meta_grads, ok):
        """Apply the (per-replica) meta-gradient if it is finite (`ok`); count skips.

        The meta-optimizer runs in replica context and sums the replicas'
        gradients itself, as Keras optimizers do under a strategy; the
        branch on `ok` stays outside the replicas' code, since a
        synchronisation point may not sit inside their control flow.
        """

        def apply():
            self.strategy.run(
                lambda grads: self.meta_optimizer.apply(
                    grads, list(self.meta_variables.values())
                ),
                args=(meta_grads,),
            )
            return tf.constant(True)

        tf.cond(ok, apply, lambda: tf.constant(False))
        self.skipped_meta_steps.assign_add(tf.cast(tf.logical_not(ok), tf.int64))

    # -- runs -----------------------------------------------------------------

    def _run_setup(self, epoch):
        """`(group, seeds, params, scales, imitate, horizon, told)` of epoch `epoch`, deterministic
        in (seed, epoch); `told` is the horizon the rule is told (0: unknown).

        Lists hold one entry per problem of the group; run seeds are
        consecutive, `epoch * tasks_per_step + i`, after the trainer's base.
        """
        rng = np.random.default_rng([self.seed, int(epoch)])
        group = self.groups[int(rng.integers(len(self.groups)))]
        first = TRAINING_SEED_BASE + self.seed * 10_000_000 + int(epoch) * self.tasks_per_step
        seeds, params, scales = [], [], []
        for i, problem in enumerate(group):
            initial = flat.flatten(problem.init_params(first + i))
            scale = tf.ones_like(initial)
            if self.random_scaling > 0:
                r = self.random_scaling
                scale = tf.exp(tf.constant(rng.uniform(-r, r, initial.shape), tf.float32))
            seeds.append(tf.constant(first + i, tf.int64))
            params.append(initial / scale)
            scales.append(scale)
        imitate = bool(rng.random() < self.imitation_prob)
        horizon = self.horizons[int(rng.integers(len(self.horizons)))] if len(self.horizons) > 1 \
            else self.horizon  # one horizon: no draw, so fixed-horizon runs replay exactly
        hidden = self.unknown_horizon_prob > 0 and rng.random() < self.unknown_horizon_prob
        return group, seeds, params, scales, imitate, horizon, 0 if hidden else horizon

    def train_epoch(self, epoch):
        """One meta-training run of each problem in the epoch's group; returns its logs."""
        group, seed, params, scale, imitate, horizon, told = self._run_setup(epoch)
        truncation = self._truncation_fn(group, imitate)
        shapes = [problem.shapes() for problem in group]
        state = [self.rule.with_horizon(self.rule.initial_state_for(s), told) for s in shapes]
        teacher_state = [self.imitation_rule.initial_state_for(s) if imitate else {} for s in shapes]
        meta_losses, losses, norms, bad = [], [], [], 0
        for k in range(horizon // self.unroll):
            start = k * self.unroll
            weights = tf.constant(self.weights[horizon][start : start + self.unroll])
            params, state, teacher_state, meta_loss, loss, norm, ok = truncation(
                params, state, teacher_state, seed, tf.constant(start), weights, scale
            )
            if not bool(ok):
                bad += 1
                break  # a diverged optimizee cannot continue this run
            meta_losses.append(float(meta_loss))
            losses.append(float(loss))
            norms.append(float(norm))
        return {
            "meta_loss": float(np.mean(meta_losses)) if meta_losses else math.nan,
            "loss": float(np.mean(losses)) if losses else math.nan,
            "grad_norm": float(np.mean(norms)) if norms else math.nan,
            "bad_steps": bad,
            "imitation": int(imitate),
            "horizon": horizon,
            "horizon_hidden": int(told != horizon),
        }

    def _rollout(self, problem):
        if id(problem) not in self._rollouts:
            self._rollouts[id(problem)] = make_rollout(self.rule, problem)
        return self._rollouts[id(problem)]

    def current_meta_params(self):
        """`{name: variable}` of the meta-parameters being trained."""
        return {k: v.value for k, v in self.meta_variables.items()}

    def trained_rule(self, provenance=None):
        """The current meta-parameters as a `TrainedRule`, with this run's provenance.

        After `fit(restore_best=True)` these are the best validated ones.
        `provenance` adds to (and overrides) what the trainer records.
        """
        best = float(self.best_validation.numpy())
        record = {
            "started_from": self.start.name,
            "problems": [getattr(p, "name", type(p).__name__) for p in self.problems],
            "horizon": self.horizons if len(self.horizons) > 1 else self.horizon,
            "unroll": self.unroll,
            "seed": self.seed,
            "epochs": int(self.epoch.numpy()),
            "best_validation_loss": best if math.isfinite(best) else None,
            "final_meta_loss": (self.history.get("meta_loss") or [None])[-1],
            "skipped_meta_steps": int(self.skipped_meta_steps.numpy()),
        }
        meta_params = {k: v.numpy() for k, v in self.meta_variables.items()}
        return self.start.replace(meta_params, {**record, **(provenance or {})}, name="")

    def validate(self, horizon=None):
        """Mean validation loss over fresh seeds and all problems (inf if any run diverges)."""
        horizons = [horizon] if horizon else self.validation_horizons
        meta_params, values = self.current_meta_params(), []
        for i in range(self.validation_runs):
            problem = self.problems[i % len(self.problems)]
            horizon = horizons[(i // len(self.problems)) % len(horizons)]
            seed = VALIDATION_SEED_BASE + i
            params = flat.flatten(problem.init_params(seed))
            losses, _ = self._rollout(problem)(
                meta_params, params, tf.constant(seed, tf.int64), tf.constant(horizon)
            )
            losses = losses.numpy()
            if self.validation_metric == "final":
                losses = losses[-max(1, horizon // 10) :]
            values.append(float(np.mean(losses)))
        value = float(np.mean(values))
        return value if math.isfinite(value) else math.inf

    # -- the loop -------------------------------------------------------------

    def fit(self, epochs, callbacks=(), verbose=1, restore_best=True):
        """Train until `epochs` runs in total (resuming from the checkpoint, if any).

        Returns the history `{name: [values per epoch]}` of this trainer's
        epochs (also kept as `self.history`). With validation, the starting
        meta-parameters are validated first and compete for "best"; with
        `restore_best`, the best validated ones are loaded at the end.
        """
        progbar = keras.utils.Progbar(epochs, verbose=verbose, stateful_metrics=["val_loss"])
        start = int(self.epoch.numpy())
        if start == 0 and self.validation_every:
            # The starting point competes too: a curriculum stage or fine-tuning
            # run that never improves on the weights it started from keeps them.
            self.best_validation.assign(self.validate())
            _assign(self.best_meta, self.meta_variables)
        progbar.update(start)
        consecutive_bad = 0
        for epoch in range(start, epochs):
            logs = self.train_epoch(epoch)
            consecutive_bad = consecutive_bad + 1 if logs["bad_steps"] else 0
            if consecutive_bad >= self.max_bad_steps:
                self._recover(epoch)
                consecutive_bad = 0
            self.epoch.assign(epoch + 1)
            if self.validation_every and (epoch + 1) % self.validation_every == 0:
                logs["val_loss"] = self._validate_and_keep_best()
            if self.manager and (epoch + 1) % self.checkpoint_every == 0:
                self.manager.save(checkpoint_number=epoch + 1)
            self._log(epoch, logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            shown = ("meta_loss", "loss", "grad_norm", "val_loss")
            progbar.update(epoch + 1, [(k, v) for k, v in logs.items() if k in shown])
        if self.manager and int(self.epoch.numpy()) % self.checkpoint_every:
            self.manager.save(checkpoint_number=int(self.epoch.numpy()))
        if restore_best and math.isfinite(float(self.best_validation.numpy())):
            _assign(self.meta_variables, self.best_meta)
        if self.optimizer is not None:
            self.optimizer.set_meta_weights(self.trained_rule().meta_params)
        return self.history

    def _validate_and_keep_best(self):
        """Validate; keep the meta-parameters if best so far; mark them as last good."""
        value = self.validate()
        if value < float(self.best_validation.numpy()):
            self.best_validation.assign(value)
            _assign(self.best_meta, self.meta_variables)
        self._good = self._snapshot()
        return value

    def _snapshot(self):
        """Copies of the meta-parameters and the meta-optimizer state (the last good values)."""
        return [np.array(v.numpy()) for v in self._recoverable()]

    def _recoverable(self):
        return list(self.meta_variables.values()) + list(self.meta_optimizer.variables)

    def _recover(self, epoch):
        """Restore the last good meta-parameters and halve the meta learning rate."""
        lr = self.meta_optimizer.learning_rate
        halved = float(lr.numpy()) * 0.5  # read first: the snapshot holds an older lr
        _assign(self._recoverable(), self._good)
        lr.assign(halved)
        print(
            f"MetaTrainer: {self.max_bad_steps} consecutive non-finite meta-steps at "
            f"epoch {epoch}; restored the last good meta-parameters and lowered the "
            f"meta learning rate to {float(lr.numpy()):.3g}."
        )

    def _log(self, epoch, logs):
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)
        if self.writer is None:
            return
        with self.writer.as_default(step=epoch):
            for name, value in logs.items():
                tf.summary.scalar(name, value)


def _replica_id():
    """This replica's index as a Python int (it picks the replica's problems at trace time)."""
    replica = tf.get_static_value(tf.distribute.get_replica_context().replica_id_in_sync_group)
    if replica is None:
        raise ValueError(
            "MetaTrainer needs a strategy whose replica ids are known when tracing "
            "(MirroredStrategy, MultiWorkerMirroredStrategy, or none)."
        )
    return int(replica)


def _sum(values):
    """The sum of a possibly empty list of scalars (0.0 for a replica with no problem)."""
    return tf.add_n(values) if values else tf.constant(0.0)


def _sum_over_replicas(values):
    """Sum a structure of tensors over the replicas (unchanged on one replica)."""
    context = tf.distribute.get_replica_context()
    if context.num_replicas_in_sync == 1:
        return values
    return context.all_reduce(tf.distribute.ReduceOp.SUM, values)


def _groups(problems, size):
    """Consecutive problems in fixed groups of `size` (the last may be smaller)."""
    if not 1 <= size <= len(problems):
        raise ValueError(
            f"tasks_per_step must be between 1 and the number of problems "
            f"({len(problems)}), got {size}."
        )
    return [tuple(problems[i : i + size]) for i in range(0, len(problems), size)]


def _starting_point(start, seed):
    """`(TrainedRule, optimizer or None)` from what `MetaTrainer` was given."""
    from keras_l2l.optimizer import LearnedOptimizer

    if isinstance(start, LearnedOptimizer):
        return start.trained_rule(), start
    if isinstance(start, TrainedRule):
        return start, None
    if isinstance(start, UpdateRule):
        return TrainedRule.untrained(start, seed), None
    raise TypeError(
        "MetaTrainer starts from a TrainedRule, an UpdateRule or a LearnedOptimizer, "
        f"got {type(start).__name__}."
    )


def _variables(values, prefix, trainable=True):
    """`{name: keras.Variable}` initialised from `{name: array}`."""
    return {
        k: keras.Variable(np.array(v), name=f"{prefix}_{k}", trainable=trainable)
        for k, v in values.items()
    }


def _assign(targets, sources):
    """Assign each source (a variable or an array) to its target; dicts match by name."""
    if isinstance(targets, dict):
        targets, sources = list(targets.values()), [sources[k] for k in targets]
    for target, source in zip(targets, sources):
        target.assign(source.value if hasattr(source, "value") else source)
