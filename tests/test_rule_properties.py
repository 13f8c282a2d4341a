"""Property tests of the pure LSTM rule: finite in, finite and bounded out.

For any finite float32 gradients (1..200 coordinates, magnitudes from 0 and
subnormals up to 1e30 and the float32 maximum, both signs), every
preprocessing kind and meta-parameters from `init_meta_params(seed)`, over a
few steps:
- updates and state stay finite;
- `|h| <= 1` (it is `sigmoid * tanh`), `|c_t| <= t` (each step adds at most 1
  to `|c|`), and `|update| <= output_scale * (sum |W_out| + |b_out|)`.
The bounds are why even raw ("none") gradients of 1e30 cannot overflow: the
gates saturate instead. The "adam" kind clips gradients at 1e18 before
squaring them, so its moments stay finite too.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_l2l.preprocessing import PREPROCESSING
from keras_l2l.rules import CoordinatewiseLSTM

F32_MAX = float(np.finfo(np.float32).max)
SETTINGS = settings(max_examples=20, deadline=None, database=None)

finite_f32 = st.floats(
    min_value=-F32_MAX, max_value=F32_MAX, allow_nan=False, allow_infinity=False, width=32
)


def rule_for(kind):
    p = {"log_sign": 10.0, "clamped_log_sign": 5.0, "none": 10.0, "adam": 10.0}[kind]
    return CoordinatewiseLSTM(preprocessing=kind, preprocessing_p=p)


def check_run(kind, meta_seed, grads):
    """Run the rule over `grads` `[steps, n]` and assert the finiteness properties."""
    rule = rule_for(kind)
    meta = rule.init_meta_params(meta_seed)
    bound = rule.output_scale * (
        np.abs(meta["output_kernel"].numpy()).sum() + np.abs(meta["output_bias"].numpy()).sum()
    )
    state = rule.init_state(grads.shape[1])
    for t, g in enumerate(grads, start=1):
        updates, state = rule(meta, tf.constant(g, tf.float32), state)
        updates = updates.numpy()
        assert updates.shape == (grads.shape[1],)
        assert np.all(np.isfinite(updates)), (kind, t, g[~np.isfinite(updates)])
        assert np.abs(updates).max() <= bound * (1 + 1e-5)
        for key, value in state.items():
            value = value.numpy()
            assert np.all(np.isfinite(value)), (kind, t, key)
            if key.startswith("lstm"):  # Adam moments ("adam" kind) need only be finite
                limit = 1.0 if key.endswith("_h") else float(t)
                assert np.abs(value).max() <= limit * (1 + 1e-6), (kind, t, key)


@st.composite
def gradient_runs(draw):
    """Arbitrary finite float32 values (hypothesis favours 0, -0, subnormals, extremes)."""
    n = draw(st.integers(1, 200))
    steps = draw(st.integers(1, 4))
    return draw(hnp.arrays(np.float32, (steps, n), elements=finite_f32))


@st.composite
def scaled_runs(draw):
    """Log-uniform magnitudes in a random window of [1e-30, 1e30], random signs, some zeros."""
    n = draw(st.integers(1, 200))
    steps = draw(st.integers(1, 4))
    low = draw(st.integers(-30, 30))
    high = draw(st.integers(low, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    magnitude = 10.0 ** rng.uniform(low, high, size=(steps, n))
    sign = rng.choice([-1.0, 1.0], size=(steps, n))
    zero = rng.random((steps, n)) < draw(st.sampled_from([0.0, 0.1, 1.0]))
    return np.where(zero, 0.0, sign * magnitude).astype(np.float32)


@pytest.mark.parametrize("kind", PREPROCESSING)
@SETTINGS
@given(meta_seed=st.integers(0, 2**16), grads=gradient_runs())
@example(meta_seed=0, grads=np.array([[1e30, -1e30, 0.0, -0.0, 1e-45, F32_MAX, -F32_MAX]] * 3, np.float32))
def test_arbitrary_finite_gradients_give_finite_bounded_updates(kind, meta_seed, grads):
    check_run(kind, meta_seed, grads)


@pytest.mark.parametrize("kind", PREPROCESSING)
@SETTINGS
@given(meta_seed=st.integers(0, 2**16), grads=scaled_runs())
@example(meta_seed=1, grads=np.full((4, 200), 1e30, np.float32))
@example(meta_seed=2, grads=np.full((4, 1), -1e-30, np.float32))
def test_gradients_of_any_scale_give_finite_bounded_updates(kind, meta_seed, grads):
    check_run(kind, meta_seed, grads)
