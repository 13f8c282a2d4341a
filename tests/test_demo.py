"""`keras-l2l demo` offline: the embedded MNIST subset, the verdict, the written results."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from keras_l2l import datasets
from keras_l2l.evaluation import demo

ENV = "KERAS_L2L_DATA_DIR"


def test_demo_runs_offline_on_the_embedded_mnist(monkeypatch, tmp_path, capsys):
    import keras

    monkeypatch.delenv(ENV, raising=False)

    def offline():
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.warns(UserWarning, match="embedded"):
        results = demo.run_demo(steps=3, seeds=2, tuning_seeds=1, out=tmp_path, verbose=0)
    printed = capsys.readouterr().out
    assert results["data_source"]["kind"] == "embedded"
    assert results["problem"] == "mnist" and "4000 examples" in results["eval_set"]
    assert list(results["optimizers"]) == ["learned", "adam"]  # general vs tuned Adam
    assert results["learned_preset"] == "general"
    # Adam gets the preset's end-of-run schedule, if it has one.
    anneal = demo.load_rule("general").rule.anneal_fraction
    assert results["tuning"].get("baselines_anneal") == anneal
    comparison = results["demo"]
    assert comparison["baseline"] == "adam"
    assert comparison["verdict"] == demo.stats.verdict(*comparison["ci95"])
    assert "embedded in keras_l2l" in printed and comparison["summary"] in printed
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["data_source"]["kind"] == "embedded" and saved["demo"]["verdict"]
    report = (tmp_path / "report.md").read_text()
    assert comparison["summary"] in report and "embedded" in report
    with Image.open(tmp_path / "curves.png") as image:
        assert image.format == "PNG"


def test_demo_uses_the_data_directory_when_given(data_dir):
    problem, preset = demo.load_demo_problem(data_dir)
    assert preset == "general" and problem.x_train.shape[0] == 60000
    assert datasets.last_source("mnist")["kind"] == "data_dir"


def test_demo_with_a_directory_lacking_mnist_uses_the_embedded_subset(tmp_path, capsys):
    problem, _ = demo.load_demo_problem(tmp_path)
    assert problem.x_train.shape[0] == 4000
    assert datasets.last_source("mnist")["kind"] == "embedded"
    assert "mnist.npz" in capsys.readouterr().out


def _comparison(lo, hi, mean=1.0):
    return {"baseline": "adam", "mean": mean, "ci95": [lo, hi],
            "verdict": demo.stats.verdict(lo, hi)}


@pytest.mark.parametrize("lo, hi, verdict, words", [
    (0.8, 0.95, "win", "Win: general reached a lower final training loss than tuned Adam"),
    (1.2, 1.6, "loss", "Loss: tuned Adam reached a lower final training loss than general"),
    (0.9, 1.3, "no clear difference", "No clear difference between general and tuned Adam"),
    (math.nan, math.nan, "undetermined", "No verdict"),
])
def test_summary_sentence_states_only_what_the_ci_supports(lo, hi, verdict, words):
    comparison = _comparison(lo, hi)
    assert comparison["verdict"] == verdict
    sentence = demo.summary_sentence(comparison, "general", 1000, 20, "full MNIST")
    assert sentence.startswith(words)
    assert "1000 steps, 20 seeds" in sentence and "full MNIST" in sentence
    if verdict in ("win", "loss"):
        assert f"{lo:.3g} .. {hi:.3g}" in sentence


def test_summary_sentence_names_the_baselines_schedule():
    sentence = demo.summary_sentence(_comparison(0.8, 0.95), "general", 1000, 20, "full MNIST",
                                     baselines_anneal=0.5)
    assert sentence.startswith("Win: general reached a lower final training loss than tuned "
                               "Adam with the same schedule")


def test_compare_is_the_paired_bootstrap_ratio():
    finals = {"learned": [1.0, 2.0, 3.0], "adam": [2.0, 4.0, 6.0]}
    results = {"optimizers": {name: {"final_loss": {"per_seed": values}}
                              for name, values in finals.items()}}
    comparison = demo.compare(results)
    assert comparison["mean"] == 0.5 and comparison["ci95"] == [0.5, 0.5]
    assert comparison["verdict"] == "win"
    results["optimizers"]["learned"]["final_loss"]["per_seed"][0] = None  # diverged
    diverged = demo.compare(results)
    assert diverged["mean"] == math.inf and diverged["verdict"] == "undetermined"
    assert np.isnan(diverged["ci95"]).all()
