"""`keras-l2l meta-train` and `keras-l2l presets`; argument errors of the one CLI module."""

import json

import numpy as np
import pytest

from keras_l2l import LearnedOptimizer, presets
from keras_l2l.cli import main
from keras_l2l.presets import load_preset

TINY = ["--problem", "quadratic", "--unroll", "2", "--units", "3", "--layers", "1",
        "--validation-every", "2", "--validation-runs", "1", "--lr", "1e-2"]


def test_meta_train_exports_a_preset_with_provenance_and_resumes(tmp_path, capsys):
    out, runs = tmp_path / "preset", tmp_path / "runs"
    argv = ["meta-train", *TINY, "--epochs", "4", "--horizon", "4", "--out", str(out),
            "--checkpoint-dir", str(runs)]
    main(argv)
    trained = load_preset(out)
    record = trained.provenance
    assert record["command"] == "keras-l2l " + " ".join(argv)
    assert record["epochs"] == 4 and record["horizon"] == 4 and record["problem"] == "quadratic"
    assert record["git_hash"] and record["weights_sha256"] == presets.sha256(out / "weights.npz")
    assert np.isfinite(record["best_validation_loss"])
    assert record["cpu_hours_this_session"] > 0 and record["seconds_this_session"] > 0
    assert trained.rule.get_config()["units"] == 3
    assert "Saved preset to" in capsys.readouterr().out
    # Rerunning the same command resumes at epoch 4: nothing left to train, same weights.
    main(argv)
    again = load_preset(out)
    for key, value in trained.meta_params.items():
        np.testing.assert_array_equal(again.meta_params[key], value)


def test_meta_train_curriculum_starts_each_stage_from_the_last(tmp_path):
    out = tmp_path / "curriculum"
    main(["meta-train", *TINY, "--epochs", "2", "--curriculum", "2,4", "--out", str(out),
          "--checkpoint-dir", str(tmp_path / "runs"), "--init-from", "quadratic"])
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "stage0_horizon2", "stage1_horizon4"]
    trained = load_preset(out)
    assert trained.provenance["horizon"] == 4
    assert trained.rule_config() == load_preset("quadratic").rule_config()
    LearnedOptimizer.from_preset(str(out))  # loads as an optimizer


def test_meta_train_adds_horizon_features_to_a_preset_and_draws_run_lengths(tmp_path):
    out = tmp_path / "horizon"
    main(["meta-train", "--problem", "quadratic", "--init-from", "general", "--rule-config",
          '{"horizon_features": true}', "--horizon", "2,4", "--validation-horizon", "2,6",
          "--unknown-horizon-prob", "0.5", "--unroll", "2", "--epochs", "3",
          "--validation-every", "3", "--validation-runs", "2", "--out", str(out),
          "--checkpoint-dir", str(tmp_path / "runs")])
    trained = load_preset(out)
    assert trained.rule.horizon_features and trained.provenance["horizon"] == [2, 4]
    assert trained.provenance["started_from"] == "general"
    kernel, general = trained.meta_params["tensor_lstm_kernel"], load_preset("general").meta_params
    assert kernel.shape[0] == general["tensor_lstm_kernel"].shape[0] + 3


def test_presets_lists_every_shipped_preset(capsys):
    main(["presets", "--json"])
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == set(presets.builtin_names())
    default = presets.load_preset(presets.DEFAULT_PRESET)
    assert listing[presets.DEFAULT_PRESET]["architecture"] == default.rule_config()
    main(["presets"])
    text = capsys.readouterr().out
    assert f"{presets.DEFAULT_PRESET} (default)" in text
    for name in listing:
        assert name in text


def test_a_plain_preset_name_stands_for_its_current_version(capsys):
    """`general` loads the weights of the version it names, and the listing says which."""
    for alias, target in presets.ALIASES.items():
        assert presets.resolve(alias) == presets.resolve(target)
        loaded, versioned = presets.load_preset(alias), presets.load_preset(target)
        assert loaded.name == alias and loaded.provenance == versioned.provenance
        for key, value in versioned.meta_params.items():
            np.testing.assert_array_equal(loaded.meta_params[key], value)
        main(["presets", "--json"])
        listing = json.loads(capsys.readouterr().out)
        assert listing[alias]["alias_of"] == target and listing[target]["alias_of"] is None
        main(["presets"])
        assert f" = {target}: " in capsys.readouterr().out


@pytest.mark.parametrize("command", ["demo", "evaluate"])
def test_unknown_baseline_is_an_argument_error(command, capsys):
    argv = [command, "--baselines", "adam,adma"]
    if command == "evaluate":
        argv += ["--optimizer", "untrained", "--problem", "quadratic", "--steps", "2",
                 "--seeds", "1", "--out", "x"]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "unknown baselines ['adma']" in capsys.readouterr().err


def test_problem_list_expands_family_samples():
    from keras_l2l.cli import problem_names
    from keras_l2l.problems.family import family_names

    names = problem_names("mnist,family:4:7,quadratic")
    assert names == ["mnist", *family_names(4, 7), "quadratic"]
    assert all(name.startswith("family/") for name in names[1:5])
    with pytest.raises(ValueError, match="family"):
        problem_names("family:x")
