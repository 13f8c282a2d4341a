"""What `tests/test_backends.py` runs on each Keras backend, one process per backend.

`python tests/backend_check.py OUT_DIR` (with `KERAS_BACKEND` set) writes
`OUT_DIR/<backend>.npz`: the weights, rule state and skipped-step count after a
fixed sequence of gradients through `LearnedOptimizer.from_preset(...)`
(`updates()`), the results of `fit`, `.keras` save and load and training
continued after loading (`fit_save_load()`), `nan_policy="raise"`
(`raise_policy()`), and models saved by TensorFlow
as loaded here (`load_tensorflow_archives()`). The test compares the first
and the last with TensorFlow (to 1e-5, and exactly) and checks the second
within each backend (bit-exact). On JAX the gradient sequence also runs through `stateless_apply`
under `jax.jit`, the path `model.fit` takes.
"""

import os
import sys

import keras
import numpy as np

import keras_l2l
from keras_l2l import LearnedOptimizer

PRESETS = ("general", "mnist")
SHAPES = ((3, 4), (4,))
STEPS = 6
NAN_STEP = 3  # this step's gradient holds a NaN: skipped, on every backend


def gradient_sequence():
    """`STEPS` lists of float32 gradients over many magnitudes, one with a NaN."""
    rng = np.random.default_rng(0)
    steps = []
    for step in range(STEPS):
        grads = [
            (rng.normal(size=s) * 10.0 ** rng.uniform(-6, 1, size=s)).astype(np.float32)
            for s in SHAPES
        ]
        if step == NAN_STEP:
            grads[1][2] = np.nan
        steps.append(grads)
    return steps


def initial_weights():
    rng = np.random.default_rng(1)
    return [rng.normal(size=s).astype(np.float32) for s in SHAPES]


def _record(out, prefix, variables, optimizer):
    for i, v in enumerate(variables):
        out[f"{prefix}/weight{i}"] = keras.ops.convert_to_numpy(v)
    for key, value in optimizer.rule_state().items():
        out[f"{prefix}/state_{key}"] = keras.ops.convert_to_numpy(value)
    out[f"{prefix}/skipped"] = np.array(int(keras.ops.convert_to_numpy(optimizer.skipped_steps)))


def updates():
    """Weights and state after each gradient of the fixed sequence, per preset."""
    out = {}
    for preset in PRESETS:
        variables = [keras.Variable(w, name=f"w{i}") for i, w in enumerate(initial_weights())]
        optimizer = LearnedOptimizer.from_preset(preset)
        optimizer.build(variables)
        for step, grads in enumerate(gradient_sequence()):
            optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
            _record(out, f"{preset}/step{step}", variables, optimizer)
        out[f"{preset}/update_norm"] = keras.ops.convert_to_numpy(optimizer.update_norm)
        if keras.backend.backend() == "jax":
            _jitted_updates(out, preset)
    return out


def _jitted_updates(out, preset):
    """The same sequence through `stateless_apply` under `jax.jit` (traced: no Python branch)."""
    import jax

    variables = [keras.Variable(w, name=f"w{i}") for i, w in enumerate(initial_weights())]
    optimizer = LearnedOptimizer.from_preset(preset)
    optimizer.build(variables)
    step_fn = jax.jit(optimizer.stateless_apply)
    opt_values = [v.value for v in optimizer.variables]
    values = [v.value for v in variables]
    for step, grads in enumerate(gradient_sequence()):
        values, opt_values = step_fn(opt_values, [jax.numpy.asarray(g) for g in grads], values)
    for v, value in zip(optimizer.variables, opt_values):
        v.assign(value)
    for v, value in zip(variables, values):
        v.assign(value)
    _record(out, f"{preset}/jit", variables, optimizer)
    out[f"{preset}/jit_update_norm"] = keras.ops.convert_to_numpy(optimizer.update_norm)


def raise_policy():
    """`nan_policy="raise"`: eagerly an error naming the variable, nothing written; under jit refused."""
    variables = [keras.Variable(w, name=f"w{i}") for i, w in enumerate(initial_weights())]
    optimizer = LearnedOptimizer.from_preset("mnist", nan_policy="raise")
    optimizer.build(variables)
    grads = [keras.ops.convert_to_tensor(g) for g in gradient_sequence()[NAN_STEP]]
    out = {}
    if keras.backend.backend() == "jax":
        import jax

        try:
            jax.jit(optimizer.stateless_apply)(
                [v.value for v in optimizer.variables], grads, [v.value for v in variables]
            )
            out["raise/jit_error"] = np.array("")
        except ValueError as error:
            out["raise/jit_error"] = np.array(str(error))
    state = [keras.ops.convert_to_numpy(v) for v in variables + optimizer.variables]
    try:
        optimizer.apply(grads, variables)
        out["raise/error"] = np.array("")
    except FloatingPointError as error:
        out["raise/error"] = np.array(str(error))
    after = [keras.ops.convert_to_numpy(v) for v in variables + optimizer.variables]
    out["raise/unchanged"] = np.array(all(np.array_equal(a, b) for a, b in zip(state, after)))
    return out


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    return x, np.tanh(x @ np.array([[1.0], [-2.0], [0.5]], np.float32))


def _model(optimizer):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _state(model):
    return model.get_weights() + [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]


def fit_save_load(directory):
    """`fit`, save, load, and continued training on one backend: `{name: array}`."""
    out = {}
    x, y = _data()
    fit = dict(batch_size=8, shuffle=False, verbose=0)
    for preset in PRESETS:
        model = _model(LearnedOptimizer.from_preset(preset))
        history = model.fit(x, y, epochs=2, **fit)
        out[f"fit/{preset}/loss"] = np.array(history.history["loss"])
        path = os.path.join(directory, f"{keras.backend.backend()}-{preset}.keras")
        model.save(path)
        saved = _state(model)
        loaded = keras.saving.load_model(path, safe_mode=True)
        assert isinstance(loaded.optimizer, LearnedOptimizer), type(loaded.optimizer)
        assert loaded.optimizer.preset == preset, loaded.optimizer.preset
        for i, (a, b) in enumerate(zip(_state(loaded), saved)):
            out[f"fit/{preset}/loaded{i}"], out[f"fit/{preset}/saved{i}"] = a, b
        meta = loaded.optimizer.get_meta_weights()
        shipped = keras_l2l.TrainedRule.from_preset(preset).meta_params
        for key, value in shipped.items():
            out[f"fit/{preset}/meta_{key}"], out[f"fit/{preset}/shipped_{key}"] = meta[key], value
        model.fit(x, y, epochs=1, **fit)
        loaded.fit(x, y, epochs=1, **fit)
        for i, (a, b) in enumerate(zip(_state(loaded), _state(model))):
            out[f"fit/{preset}/continued_loaded{i}"], out[f"fit/{preset}/continued{i}"] = a, b
        out[f"fit/{preset}/update_norm"] = keras.ops.convert_to_numpy(model.optimizer.update_norm)
    return out


def load_tensorflow_archives(directory):
    """Models saved by the TensorFlow backend (`tensorflow-<preset>.keras`), as loaded here."""
    out = {}
    for preset in PRESETS:
        path = os.path.join(directory, f"tensorflow-{preset}.keras")
        if os.path.exists(path):
            for i, value in enumerate(_state(keras.saving.load_model(path, safe_mode=True))):
                out[f"from_tf/{preset}/{i}"] = value
    return out


def save_tensorflow_archives(directory):
    """On TensorFlow: models trained a little, saved for the other backends to load."""
    x, y = _data()
    out = {}
    for preset in PRESETS:
        model = _model(LearnedOptimizer.from_preset(preset))
        model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        model.save(os.path.join(directory, f"tensorflow-{preset}.keras"))
        for i, value in enumerate(_state(model)):
            out[f"from_tf/{preset}/{i}"] = value
    return out


def main(directory):
    out = {"backend": np.array(keras.backend.backend())}
    out.update(updates())
    out.update(raise_policy())
    out.update(fit_save_load(directory))
    out.update(load_tensorflow_archives(directory))
    np.savez(os.path.join(directory, f"{keras.backend.backend()}.npz"), **out)


if __name__ == "__main__":
    main(sys.argv[1])
