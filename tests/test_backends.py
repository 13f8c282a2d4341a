"""`LearnedOptimizer` on the JAX and PyTorch backends of Keras.

The test process runs on TensorFlow; each other backend runs
`tests/backend_check.py` in a subprocess with `KERAS_BACKEND` set. On each:
the presets `general` (`HierarchicalLSTM`) and `mnist` (`CoordinatewiseLSTM`)
give the same weights, rule state and skipped steps as on TensorFlow after a
fixed sequence of gradients (one of them non-finite), to 1e-5; `model.fit`
trains; a `.keras` archive saved and loaded on that backend restores the
meta-weights and state bit-exactly and training continues exactly as without
saving; archives saved by TensorFlow load there unchanged; `nan_policy="raise"`
raises naming the variable (and is refused under JAX's jit). Skipped when the
backend is not installed (`pip install jax` / `pip install torch`).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import backend_check

HERE = Path(__file__).resolve().parent
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def tensorflow_run(tmp_path_factory):
    """The fixed gradient sequence on TensorFlow, and archives it saved: `(arrays, directory)`."""
    assert keras.backend.backend() == "tensorflow", "the test process runs on TensorFlow"
    directory = tmp_path_factory.mktemp("backends")
    arrays = backend_check.updates()
    arrays.update(backend_check.save_tensorflow_archives(str(directory)))
    return arrays, directory


@pytest.fixture(scope="module", params=["jax", "torch"])
def backend_run(request):
    """`(backend, arrays)` from `backend_check.py` run on that backend."""
    backend = request.param
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (the test extras install its CPU build)")
    _, directory = request.getfixturevalue("tensorflow_run")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, str(HERE / "backend_check.py"), str(directory)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    if result.returncode:
        pytest.fail(f"backend_check.py on {backend} failed:\n{result.stderr[-6000:]}")
    with np.load(directory / f"{backend}.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    assert str(arrays["backend"]) == backend
    return backend, arrays


def _max_difference(got, want):
    return float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)), initial=0.0))


@pytest.mark.parametrize("preset", backend_check.PRESETS)
def test_same_updates_as_tensorflow(backend_run, tensorflow_run, preset):
    backend, arrays = backend_run
    reference, _ = tensorflow_run
    keys = [k for k in reference if k.startswith(f"{preset}/step")]
    assert len(keys) > 4 * backend_check.STEPS
    worst = 0.0
    for key in keys:
        got, want = arrays[key], reference[key]
        assert got.shape == want.shape, key
        if key.endswith("/skipped") or "tensor_index" in key or "tensor_size" in key:
            np.testing.assert_array_equal(got, want, err_msg=f"{backend} {key}")
            continue
        np.testing.assert_allclose(got, want, rtol=TOLERANCE, atol=TOLERANCE,
                                   err_msg=f"{backend} {key}")
        worst = max(worst, _max_difference(got, want))
    last = f"{preset}/step{backend_check.STEPS - 1}"
    assert int(arrays[f"{last}/skipped"]) == 1  # the non-finite step was skipped ...
    nan_step = backend_check.NAN_STEP
    for i in range(len(backend_check.SHAPES)):  # ... and changed nothing
        np.testing.assert_array_equal(arrays[f"{preset}/step{nan_step}/weight{i}"],
                                      arrays[f"{preset}/step{nan_step - 1}/weight{i}"])
    first, start = arrays[f"{preset}/step0/weight0"], backend_check.initial_weights()[0]
    assert np.abs(first - start).max() > 1e-4  # the comparison is not between unchanged weights
    print(f"{backend} {preset}: max |difference| from TensorFlow {worst:.2e}")
    if backend == "jax":  # the jit-compiled path `fit` takes (skip by masking, not branching)
        for key in keys:
            if key.startswith(last):
                jitted = arrays[key.replace(last, f"{preset}/jit")]
                np.testing.assert_allclose(jitted, reference[key], rtol=TOLERANCE, atol=TOLERANCE,
                                           err_msg=f"jit {key}")
        np.testing.assert_allclose(arrays[f"{preset}/jit_update_norm"],
                                   reference[f"{preset}/update_norm"], rtol=1e-4)


@pytest.mark.parametrize("preset", backend_check.PRESETS)
def test_fit_save_load_and_continue(backend_run, preset):
    backend, arrays = backend_run
    losses = arrays[f"fit/{preset}/loss"]
    assert np.all(np.isfinite(losses)), (backend, losses)  # (`mnist` is no regression optimizer)
    assert float(arrays[f"fit/{preset}/update_norm"]) > 0
    prefix = f"fit/{preset}/"
    pairs = [("loaded", "saved"), ("continued_loaded", "continued"), ("meta_", "shipped_")]
    for mine, theirs in pairs:
        keys = [k for k in arrays if k.startswith(prefix + mine)]
        assert keys, (backend, mine)
        for key in keys:
            np.testing.assert_array_equal(
                arrays[key], arrays[key.replace(prefix + mine, prefix + theirs)],
                err_msg=f"{backend} {key}",
            )


@pytest.mark.parametrize("preset", backend_check.PRESETS)
def test_loads_archives_saved_by_tensorflow(backend_run, tensorflow_run, preset):
    backend, arrays = backend_run
    reference, _ = tensorflow_run
    keys = [k for k in reference if k.startswith(f"from_tf/{preset}/")]
    assert keys
    for key in keys:
        np.testing.assert_array_equal(arrays[key], reference[key], err_msg=f"{backend} {key}")


def test_raise_policy_names_the_variable_and_writes_nothing(backend_run):
    backend, arrays = backend_run
    assert "non-finite gradient for w1" in str(arrays["raise/error"]), (backend, arrays["raise/error"])
    assert bool(arrays["raise/unchanged"])
    if backend == "jax":  # a jit-compiled step cannot raise at run time: refused when traced
        message = str(arrays["raise/jit_error"])
        assert "cannot stop a jit-compiled jax step" in message and "nan_policy='skip'" in message


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_meta_trainer_refuses_other_backends(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (the test extras install its CPU build)")
    code = (
        "import keras_l2l\n"
        "from keras_l2l.problems import Quadratic\n"
        "keras_l2l.MetaTrainer(keras_l2l.CoordinatewiseLSTM(), Quadratic(), horizon=4, unroll=2)\n"
    )
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode != 0
    assert "MetaTrainer runs on the TensorFlow backend only" in result.stderr
    assert f"KERAS_BACKEND is '{backend}'" in result.stderr
