"""Untrusted or broken preset files, and safe-mode model loading.

A preset is read with `json` and `np.load(allow_pickle=False)` only, so a
hostile file cannot run code; every other kind of damage is a `PresetError`
(a `ValueError`) that names the problem.
"""

import json
import pickle
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_l2l import LearnedOptimizer, TrainedRule, presets
from keras_l2l.presets import PresetError, load_preset, save_preset
from keras_l2l.rules import CoordinatewiseLSTM

ARCH = dict(units=2, num_layers=1, preprocessing="log_sign", preprocessing_p=10.0, output_scale=0.1)


def weights_for(architecture, offset=0.0):
    rule = CoordinatewiseLSTM(**architecture)
    return {k: v.numpy() + offset for k, v in rule.init_meta_params(0).items()}


def make_preset(directory, architecture=ARCH, offset=0.0):
    weights = weights_for(architecture, offset)
    rule = CoordinatewiseLSTM(**architecture)
    save_preset(directory, TrainedRule(rule, weights, {"description": "test preset"}))
    return weights


def reseal(directory):
    """Record the current weights.npz's sha256, as an attacker controlling all files would."""
    path = Path(directory) / "provenance.json"
    provenance = json.loads(path.read_text())
    provenance["weights_sha256"] = presets.sha256(Path(directory) / "weights.npz")
    path.write_text(json.dumps(provenance))


class CreatesMarker:
    """Unpickling this object creates a file (stands in for arbitrary code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_valid_preset_loads(tmp_path):
    weights = make_preset(tmp_path / "p")
    trained = load_preset(tmp_path / "p")
    loaded, provenance = trained.meta_params, trained.provenance
    assert trained.rule.get_config() == ARCH
    assert trained.name == str(tmp_path / "p")
    assert provenance["description"] == "test preset"
    assert list(loaded) == list(weights)
    for key in weights:
        assert loaded[key].dtype == np.float32
        np.testing.assert_array_equal(loaded[key], weights[key].astype(np.float32))
    assert issubclass(PresetError, ValueError)


def test_pickled_object_in_npz_is_rejected_without_running_it(tmp_path):
    directory = tmp_path / "evil"
    weights = make_preset(directory)
    # Positive control: the payload really runs when pickles are allowed.
    control = tmp_path / "control.npz"
    np.savez(control, payload=np.array([CreatesMarker(tmp_path / "ran_control")], dtype=object))
    with np.load(control, allow_pickle=True) as archive:
        archive["payload"]
    assert (tmp_path / "ran_control").exists()

    marker = tmp_path / "ran"
    hostile = dict(weights, output_bias=np.array([CreatesMarker(marker)], dtype=object))
    np.savez(directory / "weights.npz", **hostile)
    reseal(directory)
    with pytest.raises(PresetError, match="cannot read weights.npz") as info:
        load_preset(directory)
    assert "pickle" in str(info.value).lower()
    assert not marker.exists()
    with pytest.raises(PresetError):
        LearnedOptimizer(preset=directory)
    assert not marker.exists()


def test_raw_pickle_as_weights_is_rejected_without_running_it(tmp_path):
    directory = tmp_path / "evil"
    make_preset(directory)
    marker = tmp_path / "ran"
    (directory / "weights.npz").write_bytes(pickle.dumps(CreatesMarker(marker)))
    reseal(directory)
    with pytest.raises(PresetError, match="cannot read weights.npz"):
        load_preset(directory)
    assert not marker.exists()


def test_unknown_name_lists_available_presets(tmp_path, monkeypatch):
    root = tmp_path / "shipped"
    make_preset(root / "alpha")
    make_preset(root / "beta")
    make_preset(root / "gamma.partial")  # debris of an interrupted export
    monkeypatch.setattr(presets, "_builtin_root", lambda: root)
    monkeypatch.chdir(tmp_path)
    assert presets.builtin_names() == ["alpha", "beta"]
    assert set(presets.list_presets()) == {"alpha", "beta"}
    with pytest.raises(PresetError) as info:
        load_preset("alpah")
    message = str(info.value)
    assert "'alpah'" in message and "available: alpha, beta" in message
    assert "gamma" not in message
    assert load_preset("alpha").rule.get_config() == ARCH


def test_unknown_name_with_the_shipped_presets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PresetError, match="Unknown preset 'no-such-preset'") as info:
        LearnedOptimizer(preset="no-such-preset")
    for name in presets.builtin_names():
        assert name in str(info.value)


@pytest.mark.parametrize("missing", presets.FILES)
def test_missing_file(tmp_path, missing):
    make_preset(tmp_path / "p")
    (tmp_path / "p" / missing).unlink()
    with pytest.raises(PresetError, match=f"is missing {missing}"):
        load_preset(tmp_path / "p")


def test_truncated_weights(tmp_path):
    directory = tmp_path / "p"
    make_preset(directory)
    data = (directory / "weights.npz").read_bytes()
    (directory / "weights.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(PresetError, match="sha256"):
        load_preset(directory)
    # Even with a matching checksum a truncated archive is a clear error.
    reseal(directory)
    with pytest.raises(PresetError, match="cannot read weights.npz"):
        load_preset(directory)


def test_flipped_bytes_fail_the_checksum(tmp_path):
    directory = tmp_path / "p"
    make_preset(directory)
    data = bytearray((directory / "weights.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / "weights.npz").write_bytes(bytes(data))
    with pytest.raises(PresetError, match="sha256.*corrupted or was replaced"):
        load_preset(directory)


def test_architecture_mismatch(tmp_path):
    directory = tmp_path / "p"
    make_preset(directory, dict(ARCH, units=20))
    (directory / "config.json").write_text(json.dumps(dict(ARCH, units=10)))
    with pytest.raises(PresetError, match="do not match the architecture") as info:
        load_preset(directory)
    assert "(12, 40)" in str(info.value) and "(22, 80)" in str(info.value)


@pytest.mark.parametrize(
    "bad", [np.complex64, "nan", "inf"], ids=["complex", "nan", "inf"]
)
def test_wrong_dtype_or_nonfinite_weights(tmp_path, bad):
    directory = tmp_path / "p"
    weights = make_preset(directory)
    if bad is np.complex64:
        weights = {k: v.astype(np.complex64) for k, v in weights.items()}
    else:
        weights["lstm0_bias"] = weights["lstm0_bias"].copy()
        weights["lstm0_bias"][3] = float(bad)
    np.savez(directory / "weights.npz", **weights)
    reseal(directory)
    with pytest.raises(PresetError, match="expected real numbers|not finite"):
        load_preset(directory)


def test_real_weights_of_another_dtype_load_as_float32(tmp_path):
    directory = tmp_path / "p"
    weights = make_preset(directory)
    np.savez(directory / "weights.npz", **{k: v.astype(np.float64) for k, v in weights.items()})
    reseal(directory)
    for key, value in load_preset(directory).meta_params.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, weights[key].astype(np.float32))


@pytest.mark.parametrize(
    "config",
    [
        "{not json",
        json.dumps(dict(ARCH, units=0)),
        json.dumps(dict(ARCH, evil="x")),
        "[1, 2]",
        json.dumps({"class_name": "NoSuchRule", "config": {}}),
        json.dumps({"class_name": "CoordinatewiseLSTM", "config": ARCH, "extra": 1}),
    ],
    ids=["syntax", "zero-units", "unknown-key", "not-an-object", "unknown-class", "extra-key"],
)
def test_invalid_config(tmp_path, config):
    directory = tmp_path / "p"
    make_preset(directory)
    (directory / "config.json").write_text(config)
    with pytest.raises(PresetError, match="invalid config"):
        load_preset(directory)


def test_weights_archive_with_extra_member(tmp_path):
    directory = tmp_path / "p"
    make_preset(directory)
    with zipfile.ZipFile(directory / "weights.npz", "a") as archive:
        archive.writestr("extra.npy", b"\x93NUMPY garbage")
    reseal(directory)
    with pytest.raises(PresetError, match="weights.npz"):
        load_preset(directory)


def test_preset_arguments_that_contradict_it(tmp_path):
    directory = tmp_path / "p"
    weights = make_preset(directory, offset=0.5)
    opt = LearnedOptimizer(preset=directory)
    for key, value in opt.get_meta_weights().items():
        np.testing.assert_array_equal(value, weights[key].astype(np.float32))
    with pytest.raises(ValueError, match="contradict") as info:
        LearnedOptimizer(preset=directory, units=7)
    assert "'units': 7" in str(info.value)


def test_load_model_safe_mode_restores_learned_optimizer(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    opt = LearnedOptimizer(learning_rate=0.5, units=3, num_layers=1, seed=2, nan_policy="raise")
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.optimizer, LearnedOptimizer)
    assert loaded.optimizer.get_config() == opt.get_config()
    for a, b in zip(opt.variables, loaded.optimizer.variables):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    history = loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert int(loaded.optimizer.iterations.numpy()) == 4
