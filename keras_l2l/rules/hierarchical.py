"""A hierarchical learned optimizer: a per-tensor LSTM steering a tiny per-parameter MLP.

The paper's idea (a trainable LSTM proposes the update) with what the learned
optimizers that beat tuned Adam share (DESIGN.md section 4): Adam-like
normalised inputs, time features, a bounded output, and state of a few
floats per parameter. One LSTM cell per *variable* reads statistics of its
variable's normalised gradients and sets that variable's step size and a
small context vector; a per-parameter MLP reads each coordinate's normalised
gradient and momenta plus its variable's context and corrects Adam's
direction and step size coordinate by coordinate:

    update_i = -lr_j * clip(m_i / sqrt(v_i) + d_i, -10, 10) * exp(2 tanh(s_i / 2))
    lr_j     = base_learning_rate * exp(5 tanh(a_j / 5))

(m and v bias-corrected as in Adam.)

with `(a_j, context_j)` from the tensor LSTM and `(d_i, s_i)` from the MLP.
The output layers start at zero, so the untrained rule *is* Adam (beta_1 0.9,
beta_2 0.999) at `base_learning_rate`: it takes sane normalised steps before
any meta-training, and meta-training only has to learn improvements.

With `direction_gate=True` the tensor LSTM also scales each variable's
direction correction, `d_i -> 2 sigmoid(gate_j) d_i` (1 while its weights are
zero): late in a run with little gradient noise a correction learned for noisy
early steps can stop a variable from converging (`general-v2`'s correction
costs 4x on a centroid regression at 1,000 steps: results/general-nod/), and
one number per variable lets the rule turn it down there without unlearning it.

With `correction_gate_rms=C` each variable's direction correction is also
scaled by `min(1, RMS_j(m_fast / sqrt(v)) / C)`, a fixed function of what the
rule already reads: d reads the raw normalised gradient g / sqrt(v), which
stays O(1) once a run is noise-dominated, so late in a long run it keeps
adding steps of constant size where Adam's m / sqrt(v) has averaged the noise
away (`general-v2` on the two-input model at 5,000 steps: mean |d| 0.024
throughout, 10x the late |m / sqrt(v)| of Adam at a tuned rate, loss spikes;
results/general-nod/spikes_5000.md). While the momentum carries signal (RMS
above C, most of a short run) the rule is unchanged.

With `anneal_fraction=F` and a run of known length T, every step size falls
linearly to zero over the run's last F * T steps and stays zero after T, as
Keras' `CosineDecay` does past `decay_steps`; with T unknown (0) nothing
changes. With `anneal_after=A` the fall starts no earlier than step A, and
runs of at most A steps are not annealed: a rule meta-trained on A-step runs
already plans its steps for their final loss. A fixed schedule, not learned:
`general-v3`, meta-trained on 200-step runs, keeps its step size to the end
of longer runs and ends them spiking or noise-dominated where tuned Adam
settles (results/general-v3/gru_spikes_5000.md); annealed it ends 5,000-step
runs of that task at 0.51x tuned NAG instead of 4.4x (results/general-v3/anneal.md).

With `correction_fade_after=A` each variable's direction correction is also
scaled by `min(1, A / t)` at step t: the correction, meta-trained on runs of
about A steps, fades in runs longer than that. An experiment, not shipped:
on 8 training problems at 5,000 steps it costs 1.08-1.10x
(results/correction-fade/README.md).

With `correction_centered=True` the correction is measured from its value
at zero inputs, `d_i -> d(x_i, context_j) - d(0, context_j)`: a coordinate
whose normalised gradient and momenta are zero gets no correction. The MLP's
biases make d(0, context) non-zero (`general-v6`: -0.03 at context 0, -0.19
to +0.14 at contexts of +-0.5), a constant push on every coordinate of a
variable that only a gradient of that size can hold back: a run that could
settle near zero loss keeps being pushed off (`general-v6` on the patch
transformer, 5,000 steps: minibatch loss 0.08-0.12 from step 1,000 to 2,000
and a final 5e-4; centered, 4e-4 by step 2,000 and a final 2.3e-5, as with d
switched off: results/correction-fade/drift_5000.md). One more MLP evaluation
per variable.

With `horizon_features=True` the tensor LSTM also reads how far through
the run it is (whether the run's length T is known, min(t / T, 1) and
log T / 10), so one set of weights can take bolder steps in a short run and
anneal at the end of any run; T comes from the loop that runs the rule
(`UpdateRule.with_horizon`), or is unknown (0) and the features read zero.

With `step_adaptation=B` each variable's step size also follows the
hypergradient of the loss with respect to it (Baydin et al. 2018, "Online
learning rate adaptation with hypergradient descent"), in its scale-free form:
its log step size moves by B times the cosine between the variable's gradient
and its previous momentum (each over sqrt(v)); the multiplier stays within
exp(+-ADAPT_RANGE). A gradient that keeps pointing the way the last steps went
asks for larger steps, one that turns back asks for smaller: the rule's own per-tensor step
size, meta-trained on 200-step runs, is off per task by a factor of 0.25 to 4
at 1,000 steps (results/suite-tuned-v4), and this corrects it from what the
run itself shows. A fixed function of the gradients, not learned; one float
per variable of state. With `step_adaptation_floor=F` the multiplier never
falls below F (F = 1: it only raises step sizes): a one-step hypergradient
is biased toward small steps (Wu et al. 2018, short-horizon bias), and on
a two-input model it takes most variables' steps to 0.15-0.5x where tuned
Adam wants larger ones (results/step-adaptation/log_scales.md).

Written once in `keras.ops` (with `backend_ops` for the gather and the
segment sum): the same rule runs on every Keras backend.
"""

import math

import numpy as np
from keras import ops

from keras_l2l import preprocessing as prep
from keras_l2l.rules import backend_ops
from keras_l2l.rules.anneal import check_anneal, linear_tail
from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.lstm import lstm_cell
from keras_l2l.rules.registry import register_rule

TIME_SCALES = (100.0, 1_000.0, 10_000.0)
NUM_TENSOR_FEATURES = 5 + len(TIME_SCALES)
NUM_HORIZON_FEATURES = 3  # T known, min(t / T, 1), log T / 10
NUM_PARAM_FEATURES = 3  # g / sqrt(v), m_fast / sqrt(v), m_slow / sqrt(v)
STEP_CLIP = 10.0
LR_RANGE = 5.0  # lr_j within base * exp(+-5)
SCALE_RANGE = 2.0  # per-parameter step multiplier within exp(+-2)
ADAPT_RANGE = 2.0  # step_adaptation's per-variable multiplier within exp(+-2)


@register_rule
class HierarchicalLSTM(UpdateRule):
    """Per-tensor LSTM (`tensor_units` cells) + per-parameter MLP (`hidden_units` wide).

    Per-parameter state: two momenta and the second moment (`moments`, 12
    bytes in float32) and the index of the parameter's variable (4 bytes).
    Per variable: the LSTM's `(h, c)`, its size and, with `step_adaptation`, its
    log step multiplier; globally: the step count and, with `horizon_features`,
    the run's length (0 = unknown).
    """

    compile_with_xla = True  # a fit step on the MNIST MLP takes about half the time

    def __init__(self, tensor_units=16, context_units=4, hidden_units=8,
                 base_learning_rate=1e-3, horizon_features=False, direction_gate=False,
                 correction_gate_rms=None, anneal_fraction=None, anneal_after=0,
                 step_adaptation=None, step_adaptation_floor=None, correction_fade_after=0,
                 correction_centered=False):
        for name, value in (("tensor_units", tensor_units), ("context_units", context_units),
                            ("hidden_units", hidden_units)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        if not base_learning_rate > 0:
            raise ValueError(f"`base_learning_rate` must be > 0, got {base_learning_rate!r}.")
        self.tensor_units, self.context_units = int(tensor_units), int(context_units)
        self.hidden_units, self.base_learning_rate = int(hidden_units), float(base_learning_rate)
        self.horizon_features = bool(horizon_features)
        self.direction_gate = bool(direction_gate)
        if correction_gate_rms is not None and not float(correction_gate_rms) > 0:
            raise ValueError(
                f"`correction_gate_rms` must be > 0 or None, got {correction_gate_rms!r}."
            )
        self.correction_gate_rms = None if correction_gate_rms is None else float(correction_gate_rms)
        self.anneal_fraction, self.anneal_after = check_anneal(anneal_fraction, anneal_after)
        if step_adaptation is not None and not float(step_adaptation) > 0:
            raise ValueError(f"`step_adaptation` must be > 0 or None, got {step_adaptation!r}.")
        self.step_adaptation = None if step_adaptation is None else float(step_adaptation)
        if step_adaptation_floor is not None and not (
                self.step_adaptation is not None
                and math.exp(-ADAPT_RANGE) <= float(step_adaptation_floor) <= 1.0):
            raise ValueError(
                "`step_adaptation_floor` needs `step_adaptation` and must be within "
                f"[exp(-{ADAPT_RANGE}), 1], got {step_adaptation_floor!r}."
            )
        self.step_adaptation_floor = (None if step_adaptation_floor is None
                                      else float(step_adaptation_floor))
        if not isinstance(correction_fade_after, (int, np.integer)) or correction_fade_after < 0:
            raise ValueError("`correction_fade_after` must be an integer >= 0 (0: no fade), "
                             f"got {correction_fade_after!r}.")
        self.correction_fade_after = int(correction_fade_after)
        self.correction_centered = bool(correction_centered)

    def get_config(self):
        return {
            "tensor_units": self.tensor_units,
            "context_units": self.context_units,
            "hidden_units": self.hidden_units,
            "base_learning_rate": self.base_learning_rate,
            **({"horizon_features": True} if self.horizon_features else {}),
            **({"direction_gate": True} if self.direction_gate else {}),
            **({"correction_gate_rms": self.correction_gate_rms}
               if self.correction_gate_rms is not None else {}),
            **({"anneal_fraction": self.anneal_fraction} if self.anneal_fraction is not None else {}),
            **({"anneal_after": self.anneal_after} if self.anneal_after else {}),
            **({"step_adaptation": self.step_adaptation} if self.step_adaptation is not None else {}),
            **({"step_adaptation_floor": self.step_adaptation_floor}
               if self.step_adaptation_floor is not None else {}),
            **({"correction_fade_after": self.correction_fade_after}
               if self.correction_fade_after else {}),
            **({"correction_centered": True} if self.correction_centered else {}),
        }

    # -- meta-parameters and state ---------------------------------------------

    def meta_param_shapes(self):
        u, c, h = self.tensor_units, self.context_units, self.hidden_units
        gate = {"direction_gate_kernel": (u, 1), "direction_gate_bias": (1,)}
        return {
            "tensor_lstm_kernel": (self.num_tensor_features + u, 4 * u),
            "tensor_lstm_bias": (4 * u,),
            "tensor_out_kernel": (u, 1 + c),
            "tensor_out_bias": (1 + c,),
            "param_hidden_kernel": (NUM_PARAM_FEATURES + c, h),
            "param_hidden_bias": (h,),
            "param_out_kernel": (h, 2),
            "param_out_bias": (2,),
            **(gate if self.direction_gate else {}),
        }

    @property
    def num_tensor_features(self):
        return NUM_TENSOR_FEATURES + NUM_HORIZON_FEATURES * self.horizon_features

    def init_meta_params(self, seed=0):
        """Glorot-uniform hidden kernels, forget-gate bias 1, zero output layers (= Adam)."""
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in self.meta_param_shapes().items():
            value = np.zeros(shape)
            if name in ("tensor_lstm_kernel", "param_hidden_kernel"):
                limit = math.sqrt(6.0 / (shape[0] + shape[1]))
                value = rng.uniform(-limit, limit, size=shape)
            if name == "tensor_lstm_bias":
                value[self.tensor_units : 2 * self.tensor_units] = 1.0
            params[name] = backend_ops.constant(value)
        return params

    def adapt_meta_params(self, meta_params, source):
        """From the same rule without horizon features or direction gate: zero weights for
        those inputs and that output, so the rule starts out acting exactly as `source` did."""
        params = dict(meta_params)
        if self.direction_gate and not source.direction_gate:
            params["direction_gate_kernel"] = np.zeros([self.tensor_units, 1], np.float32)
            params["direction_gate_bias"] = np.zeros([1], np.float32)
        if self.horizon_features and not source.horizon_features:
            kernel = np.asarray(params["tensor_lstm_kernel"])
            rows = np.zeros([NUM_HORIZON_FEATURES, kernel.shape[1]], kernel.dtype)
            params["tensor_lstm_kernel"] = np.concatenate(
                [kernel[:NUM_TENSOR_FEATURES], rows, kernel[NUM_TENSOR_FEATURES:]]
            )
        return params

    def init_state(self, num_coordinates):
        return self.initial_state([num_coordinates])  # one variable holding every coordinate

    def initial_state(self, sizes):
        sizes = [int(s) for s in sizes]
        reads_horizon = self.horizon_features or self.anneal_fraction is not None
        horizon = {"horizon": ops.zeros([], "float32")} if reads_horizon else {}
        adapted = ({"tensor_log_scale": ops.zeros([len(sizes)], "float32")}
                   if self.step_adaptation is not None else {})
        return {
            "moments": ops.zeros([sum(sizes), 3], "float32"),  # m_fast, m_slow, v
            "tensor_index": backend_ops.constant(
                np.repeat(np.arange(len(sizes)), sizes), "int32"
            ),
            "tensor_size": backend_ops.constant(sizes, "float32"),
            "tensor_h": ops.zeros([len(sizes), self.tensor_units], "float32"),
            "tensor_c": ops.zeros([len(sizes), self.tensor_units], "float32"),
            "step": ops.zeros([], "float32"),
            **horizon,
            **adapted,
        }

    def state_kind(self, key):
        if key in ("tensor_size", "tensor_h", "tensor_c", "tensor_log_scale"):
            return "tensor"
        return "global" if key in ("step", "horizon") else "coordinate"

    # -- the update ------------------------------------------------------------
    # Written with few, large ops: on small models the step time is the number
    # of ops, not their size (one [n, 3] moments tensor, one segment sum).
    # Coordinates meet only in per-variable sums, so the update is three parts:
    # `LearnedOptimizer` runs the two coordinate parts over chunks of a large
    # model's coordinates to bound its memory; `__call__` runs all three at once.

    sums_per_variable = True

    def __call__(self, meta_params, grads, state):
        sums = self.coordinate_sums(meta_params, grads, state)
        rows, variable_state = self.variable_step(meta_params, sums, state)
        updates, coordinate_state = self.coordinate_step(meta_params, grads, state, rows)
        return updates, dict(state, **variable_state, **coordinate_state)

    def coordinate_sums(self, meta_params, grads, state):
        """Per variable `[k, 4]` (`[k, 6]` with `step_adaptation`): sums over `grads`'
        coordinates of their features' products."""
        adapts = self.step_adaptation is not None
        _, features = prep.adam_features(grads, state["moments"], state["step"] + 1.0, adapts)
        products = [ops.square(features[:, :3]), features[:, :1] * features[:, 1:2]]
        if adapts:  # the gradient against the momentum before this step
            products += [features[:, :1] * features[:, 3:], ops.square(features[:, 3:])]
        products = ops.concatenate(products, 1)
        return backend_ops.segment_sum(
            products, state["tensor_index"], backend_ops.num_rows(state["tensor_size"])
        )

    def variable_step(self, meta_params, sums, state):
        """`(rows, new per-variable and global state)` from all coordinates' `sums`:
        per variable a row [log step size, context(, direction gate)] from the tensor LSTM."""
        step = state["step"] + 1.0
        tensor_features = _tensor_features(sums, state["tensor_size"], step)
        if self.horizon_features:
            tensor_features = ops.concatenate(
                [tensor_features, _horizon_features(step, state["horizon"], tensor_features)], 1
            )
        h, c = lstm_cell(
            ops.concatenate([tensor_features, state["tensor_h"]], axis=1),
            meta_params["tensor_lstm_kernel"],
            meta_params["tensor_lstm_bias"],
            state["tensor_c"],
        )
        head = ops.matmul(h, meta_params["tensor_out_kernel"]) + meta_params["tensor_out_bias"]
        log_step = LR_RANGE * ops.tanh(head[:, :1] / LR_RANGE)
        new_state = {"tensor_h": h, "tensor_c": c, "step": step}
        if self.step_adaptation is not None:
            cosine = sums[:, 4] / ops.sqrt(sums[:, 0] * sums[:, 5] + 1e-30)
            lowest = (-ADAPT_RANGE if self.step_adaptation_floor is None
                      else math.log(self.step_adaptation_floor))
            log_scale = ops.clip(state["tensor_log_scale"] + self.step_adaptation * cosine,
                                 lowest, ADAPT_RANGE)
            log_step = log_step + log_scale[:, None]
            new_state["tensor_log_scale"] = log_scale
        rows = [log_step, head[:, 1:]]
        if self.correction_centered:  # d at zero inputs, per variable
            zeros = ops.repeat(ops.zeros_like(head[:, :1]), NUM_PARAM_FEATURES, axis=1)
            rows.append(self.param_outputs(meta_params, zeros, head)[:, :1])
        if self._gated:
            rows.append(self._correction_gate(meta_params, h, sums, state["tensor_size"], step))
        return ops.concatenate(rows, 1), new_state

    def coordinate_step(self, meta_params, grads, state, rows):
        """`(updates, new per-coordinate state)` of `grads`' coordinates, given `variable_step`'s rows."""
        moments, features = prep.adam_features(grads, state["moments"], state["step"] + 1.0)
        head = backend_ops.gather_rows(rows, state["tensor_index"])  # each coordinate's variable
        out = self.param_outputs(meta_params, features, head)
        correction = out[:, 0]
        if self.correction_centered:
            correction = correction - head[:, 1 + self.context_units]
        if self._gated:
            correction = correction * head[:, -1]
        direction = ops.clip(features[:, 1] + correction, -STEP_CLIP, STEP_CLIP)
        log_step = head[:, 0] + SCALE_RANGE * ops.tanh(out[:, 1] / SCALE_RANGE)
        updates = -self.base_learning_rate * direction * ops.exp(log_step)
        if self.anneal_fraction is not None:
            updates = updates * linear_tail(state["step"] + 1.0, state["horizon"],
                                            self.anneal_fraction, self.anneal_after)
        return updates, {"moments": moments}

    def param_outputs(self, meta_params, features, head):
        """The per-parameter MLP's `[n, 2]` outputs (d, s), ungated, from the coordinates'
        normalised `features` and their variables' `head` rows."""
        context = head[:, 1 : 1 + self.context_units]
        hidden = ops.tanh(
            backend_ops.narrow_matmul(ops.concatenate([features, context], axis=1),
                                      meta_params["param_hidden_kernel"])
            + meta_params["param_hidden_bias"]
        )
        out = backend_ops.narrow_matmul(hidden, meta_params["param_out_kernel"])
        return out + meta_params["param_out_bias"]

    @property
    def _gated(self):
        return (self.direction_gate or self.correction_gate_rms is not None
                or self.correction_fade_after > 0)

    def _correction_gate(self, meta_params, h, sums, sizes, step):
        """Per variable `[k, 1]`: the learned gate times the momentum-RMS gate times the
        fade (each if on)."""
        gate = ops.ones_like(h[:, :1])
        if self.direction_gate:
            learned = ops.matmul(h, meta_params["direction_gate_kernel"])
            gate = 2.0 * ops.sigmoid(learned + meta_params["direction_gate_bias"])
        if self.correction_gate_rms is not None:
            rms = ops.sqrt(sums[:, 1:2] / ops.maximum(sizes, 1.0)[:, None] + 1e-12)
            gate = gate * ops.minimum(rms / self.correction_gate_rms, 1.0)
        if self.correction_fade_after:
            gate = gate * ops.minimum(self.correction_fade_after / step, 1.0)
        return gate


def _tensor_features(sums, sizes, step):
    """Per variable: RMS of each normalised input, their alignment, log size, time."""
    k = backend_ops.num_rows(sizes)
    count = ops.maximum(sizes, 1.0)
    means = sums / count[:, None]
    rms = ops.sqrt(means[:, :3] + 1e-12)
    alignment = means[:, 3:4] / (rms[:, :1] * rms[:, 1:2] + 1e-6)
    time = backend_ops.tile_rows(ops.tanh(step / backend_ops.constant(TIME_SCALES, step.dtype)), k)
    return ops.concatenate([rms, alignment, ops.log(count)[:, None] / 10.0, time], 1)


def _horizon_features(step, horizon, like):
    """Per variable (rows of `like`): T known, min(t / T, 1), log T / 10 (zeros if T is 0)."""
    known = ops.cast(horizon > 0, step.dtype)
    length = ops.maximum(horizon, 1.0)
    row = ops.stack([known, known * ops.minimum(step / length, 1.0), known * ops.log(length) / 10.0])
    return backend_ops.tile_rows(row, backend_ops.num_rows(like))
