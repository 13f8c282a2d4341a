"""A `.keras` file made with any preset opens anywhere `keras_l2l` is installed.

Regression test for issue 10: the optimizer config used to hold the preset
*path* and `from_config` read it again, so deleting the preset directory
made the saved model unloadable. Each saved model here is loaded in a fresh
process, with `safe_mode=True`, after its preset directory is gone, and
must continue training exactly like the original.
"""

import json
import shutil
import subprocess
import sys
import zipfile

import keras
import numpy as np

from keras_l2l import CoordinatewiseLSTM, LearnedOptimizer, TrainedRule
from keras_l2l.presets import save_preset

FIT = dict(batch_size=8, shuffle=False, verbose=0)

CONTINUE_IN_FRESH_PROCESS = """
import sys
import keras
import numpy as np
import keras_l2l  # registers LearnedOptimizer

data = np.load(sys.argv[1])
for path in sys.argv[2:]:
    model = keras.saving.load_model(path + ".keras", safe_mode=True)
    assert isinstance(model.optimizer, keras_l2l.LearnedOptimizer), type(model.optimizer)
    model.fit(data["x"], data["y"], epochs=2, batch_size=8, shuffle=False, verbose=0)
    arrays = model.get_weights() + [v.numpy() for v in model.optimizer.variables]
    np.savez(path + ".npz", *arrays)
"""


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    return x, np.tanh(x @ np.array([[1.0], [-2.0], [0.5]], np.float32))


def model_with(optimizer):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def perturbed_rule():
    """A trained-looking rule that exists only in memory until saved."""
    start = TrainedRule.untrained(CoordinatewiseLSTM(units=4, num_layers=1), seed=3)
    return start.replace({k: v * 1.5 + 0.01 for k, v in start.meta_params.items()})


def legacy_archive(path, legacy_path):
    """The archive as keras_l2l 0.1 wrote it: architecture keys, preset path in the config."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(legacy_path, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(content)
                optimizer = config["compile_config"]["optimizer"]["config"]
                optimizer.update(optimizer.pop("rule")["config"])
                optimizer["preset"] = "/no/longer/exists/preset"
                content = json.dumps(config).encode()
            target.writestr(item, content)


def test_saved_models_load_without_their_preset_and_continue_exactly(tmp_path):
    x, y = data()
    np.savez(tmp_path / "data.npz", x=x, y=y)
    directory = save_preset(tmp_path / "my-preset", perturbed_rule())
    optimizers = {
        "directory": lambda: LearnedOptimizer.from_preset(str(directory), learning_rate=0.5),
        "in_memory": lambda: LearnedOptimizer.from_preset(perturbed_rule(), learning_rate=0.5),
        "shipped": lambda: LearnedOptimizer.from_preset("quadratic"),
        "untrained": lambda: LearnedOptimizer(units=3, num_layers=2, seed=4),
    }
    expected = {}
    for name, make in optimizers.items():
        model = model_with(make())
        model.fit(x, y, epochs=1, **FIT)
        model.save(tmp_path / f"{name}.keras")
        model.fit(x, y, epochs=2, **FIT)  # the uninterrupted run
        expected[name] = model.get_weights() + [v.numpy() for v in model.optimizer.variables]
    legacy_archive(tmp_path / "untrained.keras", tmp_path / "legacy.keras")
    expected["legacy"] = expected["untrained"]
    assert model_with(LearnedOptimizer.from_preset(str(directory))).optimizer.preset == str(
        directory
    )
    shutil.rmtree(directory)

    subprocess.run(
        [sys.executable, "-c", CONTINUE_IN_FRESH_PROCESS, str(tmp_path / "data.npz")]
        + [str(tmp_path / name) for name in expected],
        check=True, cwd=tmp_path, timeout=300,
    )
    for name, want in expected.items():
        with np.load(tmp_path / f"{name}.npz") as archive:
            got = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        assert len(got) == len(want), name
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_loaded_optimizer_records_its_preset_name_without_reading_it(tmp_path):
    directory = save_preset(tmp_path / "p", perturbed_rule())
    optimizer = LearnedOptimizer.from_preset(str(directory))
    config = optimizer.get_config()
    shutil.rmtree(directory)
    restored = LearnedOptimizer.from_config(config)
    assert restored.preset == str(directory)
    assert restored.get_config() == config
