"""`keras-l2l ablate`: variants, one tiny end-to-end run, resuming, and bad input."""

import json

import pytest

from keras_l2l.cli import main
from keras_l2l.evaluation import ablation


def test_each_variant_changes_one_factor_and_duplicates_of_the_base_are_dropped():
    quadratic = ablation.variants_for("quadratic")
    assert "prep-clamped-log-sign" not in quadratic and "prep-log-sign" in quadratic
    mnist = ablation.variants_for("mnist")
    assert "prep-log-sign" not in mnist and "prep-clamped-log-sign" in mnist
    base_rule, base_trainer = ablation.variant_setup("quadratic", "base")
    for variant in quadratic[1:]:
        rule, trainer = ablation.variant_setup("quadratic", variant)
        changed = {k for k in {**base_rule, **rule} if base_rule.get(k) != rule.get(k)}
        assert (rule, trainer) != (base_rule, base_trainer), variant
        assert len(changed) + len(trainer) >= 1 and not (changed and trainer), variant
    assert ablation.variants_for("quadratic", ["cell-gru"]) == ["base", "cell-gru"]


def test_tiny_ablation_writes_the_summary_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "ablations"
    kwargs = dict(variants=["cell-mlp"], baselines=(), validation_every=0, verbose=0)
    summary = ablation.ablate(out, ["quadratic"], 2, 3, **kwargs)
    rows = summary["problems"]["quadratic"]["variants"]
    assert list(rows) == ["base", "cell-mlp"]
    assert rows["base"]["ratio_to_base"]["mean"] == pytest.approx(1.0)
    assert rows["cell-mlp"]["state_floats_per_coordinate"] == 0
    assert rows["base"]["state_floats_per_coordinate"] == 80  # 2 layers x (h, c) x 20
    assert rows["cell-mlp"]["meta_parameters"] < rows["base"]["meta_parameters"]
    assert all(row["meta_train_cpu_seconds"] > 0 for row in rows.values())
    assert not (out / "train-quadratic" / "base" / "checkpoints").exists()
    assert "| quadratic | cell | cell-mlp |" in (out / "summary.md").read_text()
    assert (out / "ablations.png").stat().st_size > 0
    # Rerunning trains and evaluates nothing, and gives the same summary.
    monkeypatch.setattr(ablation, "meta_train_preset", pytest.fail)
    monkeypatch.setattr(ablation, "evaluate", pytest.fail)
    again = ablation.ablate(out, ["quadratic"], 2, 3, **kwargs)
    assert json.dumps(again) == json.dumps(summary)
    with pytest.raises(ValueError, match="other settings"):
        ablation.ablate(out, ["quadratic"], 3, 3, **kwargs)


def test_cli_names_unknown_variants_and_problems(capsys):
    for flag, value in (("--variants", "cell-rnn"), ("--problems", "cifar")):
        with pytest.raises(SystemExit):
            main(["ablate", "--out", "unused", "--epochs", "1", flag, value])
        assert "Unknown ablation" in capsys.readouterr().err
