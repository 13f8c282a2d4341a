"""The held-out suite: its tasks, the runner's files and resume, steps to match, CLI errors."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_l2l import flat
from keras_l2l.cli import main
from keras_l2l.evaluation import suite, tuning
from keras_l2l.evaluation.evaluate import weights_sha256
from keras_l2l.problems import PROBLEMS, get_problem
from keras_l2l.problems.suite_tasks import SUITE, TASKS, token_sequences
from keras_l2l.rollout import loss_and_flat_grad, optimizee_step
from keras_l2l.rules import Adam
from keras_l2l.trained_rule import TrainedRule

FAST = ["fashion-centroid-regression", "fashion-two-input"]


@pytest.mark.parametrize("name", [task.name for task in SUITE])
def test_task_builds_trains_and_describes_itself(name, data_dir):
    problem = get_problem(f"suite/{name}", data_dir)
    assert problem.name == f"suite/{name}" and problem.description == TASKS[name].description
    assert problem.loss_label and name not in PROBLEMS
    shapes, rule = problem.shapes(), Adam(1e-4)
    decreases = []
    for seed in range(3):
        params = flat.flatten(problem.init_params(seed))
        loss, grads, updates, _ = optimizee_step(
            rule, problem, shapes, rule.init_meta_params(), params,
            rule.initial_state(flat.sizes_of(shapes)), seed, 0,
        )
        assert math.isfinite(float(loss))
        per_variable = flat.unflatten(grads, shapes)
        assert all(float(tf.reduce_max(tf.abs(g))) > 0 for g in per_variable), name
        after, _ = loss_and_flat_grad(problem, params + updates, shapes, problem.batch(seed, 0))
        decreases.append(float(loss) - float(after))
    assert np.mean(decreases) > 0, decreases
    assert math.isfinite(float(problem.eval_loss(problem.init_params(0), 0)))


def test_token_task_labels_are_the_most_frequent_token():
    tokens, labels = token_sequences(50, seed=0)
    assert tokens.shape == (50, 20) and tokens.max() < 10
    for row, label in zip(tokens, labels):
        counts = np.bincount(row, minlength=10)
        assert counts[label] == counts.max() and label == np.argmax(counts)
    again, _ = token_sequences(50, seed=0)
    np.testing.assert_array_equal(tokens, again)


def test_steps_to_match():
    curve = list(np.linspace(2.0, 1.0, 100))
    assert suite.steps_to_match(curve, curve) == {"steps": 100, "reached": True, "window": 5}
    faster = list(np.linspace(2.0, 0.5, 100))
    assert suite.steps_to_match(curve, faster)["steps"] < 70
    assert suite.steps_to_match(faster, curve) == {"steps": None, "reached": False, "window": 5}
    assert suite.steps_to_match(curve[:-1] + [None], curve)["reached"] is None


def test_geometric_mean():
    assert suite.geometric_mean([0.5, 2.0, 1.0]) == pytest.approx(1.0)
    assert suite.geometric_mean([0.5, math.inf]) == math.inf
    assert math.isnan(suite.geometric_mean([0.5, math.nan]))


def run_tiny(out, data_dir, seeds=2, learned=None, **kwargs):
    learned = learned or TrainedRule.untrained(Adam(1e-3))
    return suite.run_suite(learned, out, [6], seeds, tasks=FAST, baselines=["adam"],
                           tuning_seeds=1, grid="coarse", data_dir=data_dir, verbose=0,
                           command="test", **kwargs)


def test_runner_writes_reports_and_summary_then_resumes(tmp_path, data_dir, monkeypatch):
    summary = run_tiny(tmp_path, data_dir)
    for task in FAST:
        for name in ("results.json", "report.md", "curves.png"):
            assert (tmp_path / task / "6" / name).is_file()
        assert not list((tmp_path / task / "6").glob("runs-*.jsonl"))  # journals deleted
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["command"] == "test" and saved["tuning"]["grid_name"] == "coarse"
    assert "2^1 (13 values)" in saved["tuning"]["grid"]
    ratios = [saved["results"][task]["6"]["ratio_to_best"]["mean"] for task in FAST]
    horizon = saved["per_horizon"]["6"]
    assert horizon["geomean_ratio_to_best"] == pytest.approx(math.sqrt(ratios[0] * ratios[1]))
    assert horizon["geomean_ratio_to_adam"] == horizon["geomean_ratio_to_best"]
    assert set(horizon["tasks_above_1.25_ratio_to_best"]) <= set(FAST)
    row = saved["results"][FAST[0]]["6"]
    assert row["best_baseline"] == "adam" and row["adam_steps_to_match"]["window"] == 1
    assert "2^-12 .. 2^0 in steps of 2^1" in (tmp_path / FAST[0] / "6" / "report.md").read_text()
    text = (tmp_path / "summary.md").read_text()
    assert "geometric mean" in text and f"[{FAST[0]}]({FAST[0]}/6/report.md)" in text
    with Image.open(tmp_path / "suite.png") as image:
        assert image.format == "PNG" and image.size[0] > 400
    assert summary["per_horizon"]["6"]["geomean_ratio_to_best"] == pytest.approx(
        horizon["geomean_ratio_to_best"])

    # A rerun finds every pair finished and evaluates nothing.
    monkeypatch.setattr(suite, "evaluate", lambda *a, **k: pytest.fail("evaluated again"))
    (tmp_path / "summary.md").unlink()
    run_tiny(tmp_path, data_dir)
    assert (tmp_path / "summary.md").is_file()
    # Other settings in the same directory are refused before anything runs.
    with pytest.raises(ValueError, match="other seeds"):
        run_tiny(tmp_path, data_dir, seeds=3)
    # The same weights under other rule settings are another optimizer.
    other_rule = TrainedRule.untrained(Adam(1e-3, beta_1=0.5))
    assert weights_sha256(other_rule) == weights_sha256(
        TrainedRule.untrained(Adam(1e-3)))
    with pytest.raises(ValueError, match="other learned rule"):
        run_tiny(tmp_path, data_dir, learned=other_rule)
    # Baselines with a linear tail are other baselines.
    with pytest.raises(ValueError, match="other baselines anneal"):
        run_tiny(tmp_path, data_dir, baselines_anneal=0.5)


def test_runner_reuses_another_runs_baselines(tmp_path, data_dir):
    run_tiny(tmp_path / "first", data_dir)
    second = TrainedRule.untrained(Adam(1e-2))
    summary = run_tiny(tmp_path / "second", data_dir, learned=second,
                       baselines_from=tmp_path / "first")
    for task in FAST:
        first, reused = (json.loads((tmp_path / run / task / "6" / "results.json").read_text())
                         for run in ("first", "second"))
        assert reused["optimizers"]["adam"] == first["optimizers"]["adam"]
        assert reused["optimizers"]["learned"] != first["optimizers"]["learned"]
        assert reused["baselines_from"]["command"] == "test"
        row = summary["results"][task]["6"]
        assert row["ratio_to_best"]["mean"] == pytest.approx(
            np.mean(reused["optimizers"]["learned"]["final_loss"]["per_seed"])
            / np.mean(first["optimizers"]["adam"]["final_loss"]["per_seed"]))
    assert summary["baselines_reused_from"] == ["test"]
    assert "- baselines reused (tuning, runs and step times) from the evaluations of `test`" in (
        tmp_path / "second" / "summary.md").read_text()
    with pytest.raises(ValueError, match=f"no results for {FAST[0]}/6, {FAST[1]}/6"):
        run_tiny(tmp_path / "third", data_dir, baselines_from=tmp_path / "missing")


def test_runner_with_the_learned_multiplier_tuned(tmp_path, data_dir):
    """`tune_learned`: per task the tuned rule's ratio to the best baseline and its multiplier,
    their geometric mean, a column in summary.md; a directory made without it is refused."""
    run_tiny(tmp_path / "first", data_dir)
    summary = run_tiny(tmp_path / "tuned", data_dir, tune_learned=True,
                       baselines_from=tmp_path / "first")
    ratios = []
    for task in FAST:
        results = json.loads((tmp_path / "tuned" / task / "6" / "results.json").read_text())
        row = summary["results"][task]["6"]
        assert row["ratio_tuned_to_best"]["mean"] == pytest.approx(
            results["ratio_tuned_to_best_baseline"]["mean"])
        assert row["learning_rates"]["learned_tuned"] in tuning.LEARNED_SCALE_GRID
        ratios.append(row["ratio_tuned_to_best"]["mean"])
    assert summary["baselines"] == ["adam"]
    assert summary["per_horizon"]["6"]["geomean_ratio_tuned_to_best"] == pytest.approx(
        math.sqrt(ratios[0] * ratios[1]))
    text = (tmp_path / "tuned" / "summary.md").read_text()
    assert "learned with its step multiplier tuned too, vs best" in text
    assert "multiplier tuned: ratio vs best" not in (tmp_path / "first" / "summary.md").read_text()
    with pytest.raises(ValueError, match="other optimizers"):
        run_tiny(tmp_path / "first", data_dir, tune_learned=True)


def _exit_message(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--suite", "heldout", "--problem", "quadratic"], "not allowed with argument"),
    ([], "one of the arguments --problem --suite is required"),
    (["--problem", "quadratic", "--tasks", "tokens-embedding-gru"], "--tasks needs --suite"),
    (["--problem", "quadratic", "--steps", "5,10"], "one --steps value"),
    (["--suite", "heldout", "--tasks", "mnist"], "Unknown tasks ['mnist']"),
    (["--suite", "heldout", "--baselines", "adam,lbfgs"], "first-order baselines"),
    (["--suite", "heldout", "--steps", "0,10"], "positive step counts"),
    (["--suite", "heldout", "--grid", "fine"], "invalid choice: 'fine'"),
    (["--problem", "quadratic", "--baselines-anneal", "0"], "fraction of the run in (0, 1]"),
])
def test_evaluate_flag_errors(extra, message, capsys):
    argv = ["evaluate", "--optimizer", "untrained", "--seeds", "1", "--out", "unused"]
    if "--steps" not in extra:
        argv += ["--steps", "5"]
    assert message in _exit_message(argv + extra, capsys)


def _summary(horizons=("200", "1000")):
    """A summary.json-shaped dict with known ratios, two tasks, one diverged."""
    tasks = {"task-a": "first", "task-b": "second"}
    ratio = {"mean": 0.8, "ci95": [0.7, 0.9]}
    results = {
        "task-a": {h: {"ratio_to_best": ratio, "ratio_to_adam": ratio, "best_baseline": "adam"}
                   for h in horizons},
        "task-b": {h: {"ratio_to_best": {"mean": None, "ci95": [None, None]},
                       "ratio_to_adam": {"mean": 3.0, "ci95": [2.0, 4.5]},
                       "best_baseline": "nag"} for h in horizons},
    }
    per_horizon = {h: {"geomean_ratio_to_best": None, "geomean_ratio_to_adam": math.sqrt(2.4)}
                   for h in horizons}
    return {"tasks": tasks, "horizons": [int(h) for h in horizons], "seeds": [0, 1, 2],
            "results": results, "per_horizon": per_horizon,
            "learned": {"preset": "general", "rule": {"class": "HierarchicalLSTM"}}}


def test_suite_plot_values_and_file(tmp_path):
    from keras_l2l.evaluation import suite_report

    summary = _summary()
    values = suite_report.panel_values(summary, "200")
    assert values["ratio_to_best"][0] == (0.8, 0.7, 0.9)
    assert all(math.isnan(v) for v in values["ratio_to_best"][1])  # null -> NaN
    assert values["ratio_to_adam"][1] == (3.0, 2.0, 4.5)
    assert values["ratio_to_adam"][2][0] == pytest.approx(math.sqrt(2.4))  # geometric mean
    suite_report.plot_ratios(summary, tmp_path / "suite.png")
    with Image.open(tmp_path / "suite.png") as image:
        assert image.format == "PNG" and image.size[0] > 600
    assert "ratio_tuned_to_best" not in values  # drawn only for a --tune-learned suite
    for task, tuned in (("task-a", 0.6), ("task-b", 1.5)):
        summary["results"][task]["200"]["ratio_tuned_to_best"] = {"mean": tuned, "ci95": [tuned, tuned]}
    summary["per_horizon"]["200"]["geomean_ratio_tuned_to_best"] = math.sqrt(0.9)
    values = suite_report.panel_values(summary, "200")["ratio_tuned_to_best"]
    assert values[:2] == [(0.6, 0.6, 0.6), (1.5, 1.5, 1.5)]
    assert values[2][0] == pytest.approx(math.sqrt(0.9))
    assert "ratio_tuned_to_best" not in suite_report.panel_values(summary, "1000")
    suite_report.plot_ratios(summary, tmp_path / "tuned.png")
    with Image.open(tmp_path / "tuned.png") as image:
        assert image.format == "PNG"


def test_suite_png_is_rerendered_from_a_committed_summary(tmp_path):
    from pathlib import Path

    from keras_l2l.evaluation import suite_report

    committed = Path(__file__).resolve().parent.parent / "results" / "suite" / "summary.json"
    if not committed.is_file():
        pytest.skip("no committed suite summary")
    (tmp_path / "summary.json").write_text(committed.read_text())
    assert suite_report.render(tmp_path) == tmp_path / "suite.png"
    assert "geometric mean" in (tmp_path / "summary.md").read_text()
    with Image.open(tmp_path / "suite.png") as image:
        assert image.format == "PNG"
    # The command README gives for it, as a module.
    (tmp_path / "summary.md").unlink()
    done = subprocess.run([sys.executable, "-m", "keras_l2l.evaluation.suite_report", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "geometric mean" in (tmp_path / "summary.md").read_text()


def test_summary_says_when_the_baselines_were_annealed():
    from pathlib import Path

    from keras_l2l.evaluation import suite_report

    committed = Path(__file__).resolve().parent.parent / "results" / "suite" / "summary.json"
    if not committed.is_file():
        pytest.skip("no committed suite summary")
    summary = json.loads(committed.read_text())
    assert "--baselines-anneal" not in suite_report.markdown(summary)
    summary["tuning"]["baselines_anneal"] = 0.5
    assert ("with a learning rate falling linearly to 0 over the run's last 0.5 "
            "(`--baselines-anneal`)") in suite_report.markdown(summary)
