"""The evaluation harness: statistics, tuning, L-BFGS, the results.json contract, the CLI."""

import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_l2l import presets
from keras_l2l.cli import main
from keras_l2l.evaluation import evaluate, load_rule, stats, t_interval, write_report
from keras_l2l.evaluation import lbfgs, runs, tuning
from keras_l2l.evaluation.evaluate import decode_curve, encode_curve
from keras_l2l.evaluation.journal import RunJournal, remove_journals
from keras_l2l.evaluation.report import json_safe
from keras_l2l.meta.export import git_hash
from keras_l2l.problems import KerasProblem, Problem
from keras_l2l.rollout import make_rollout
from keras_l2l.rules import SGD, CoordinatewiseLSTM, UpdateRule, register_rule
from keras_l2l.trained_rule import TrainedRule


class Parabola(Problem):
    """f(x) = a x^2 with x0 = 1 + seed % 3: SGD gives x_T = (1 - 2 a lr)^T x0."""

    name = "parabola"
    eval_set = "the parabola itself"

    def __init__(self, a=3.0):
        self.a = a

    def init_params(self, seed):
        return [tf.constant([1.0 + seed % 3], tf.float32)]

    def batch(self, seed, step):
        return tf.constant(0.0)

    def loss(self, params, batch):
        return self.a * tf.reduce_sum(tf.square(params[0]))

    def eval_loss(self, params, seed):
        return self.loss(params, None)


@register_rule
class Exploding(UpdateRule):
    """A rule that diverges at once (its updates overflow float32)."""

    def init_state(self, num_coordinates):
        return {}

    def __call__(self, meta_params, grads, state):
        return 1e30 * tf.sign(grads) + 1e38 * grads, {}


def test_t_interval_hand_computed():
    # mean 3, sd sqrt(2.5), t_{0.975, 4} = 2.7764451 (tables): half-width 2.7764451 * sqrt(0.5).
    mean, lo, hi = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == pytest.approx(3.0)
    assert hi - mean == pytest.approx(1.9632432, abs=1e-6)
    assert mean - lo == pytest.approx(1.9632432, abs=1e-6)


def test_t_interval_is_elementwise_and_undefined_for_one_seed():
    mean, lo, hi = t_interval(np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]))
    np.testing.assert_allclose(mean, [2.0, 20.0])
    np.testing.assert_allclose(hi - mean, [1.0, 10.0] * np.array(4.302652729911275 / math.sqrt(3)))
    _, lo, hi = t_interval([4.0])
    assert math.isnan(lo) and math.isnan(hi)
    assert math.isinf(t_interval([1.0, math.inf])[0])


def test_bootstrap_ratio_is_paired_and_deterministic():
    learned, baseline = [1.0, 2.0, 4.0, 8.0], [2.0, 4.0, 8.0, 16.0]
    ratio, lo, hi = stats.bootstrap_ratio(learned, baseline)
    # Paired by seed with a constant per-seed ratio, every resample gives 0.5 exactly.
    assert (ratio, lo, hi) == (0.5, 0.5, 0.5)
    noisy = stats.bootstrap_ratio([1.0, 3.0, 2.0, 5.0], baseline)
    assert noisy == stats.bootstrap_ratio([1.0, 3.0, 2.0, 5.0], baseline)
    assert noisy[1] <= noisy[0] <= noisy[2]
    assert all(math.isnan(v) for v in stats.bootstrap_ratio([1.0, math.inf], [1.0, 1.0]))


# -- log-space bands, ratios over steps, verdicts (the plots' arithmetic) ----------------


def test_log_t_interval_is_the_t_interval_of_the_logs():
    values = np.array([[1.0, 10.0], [2.0, 40.0], [4.0, 20.0], [8.0, 10.0]])
    geomean, lo, hi = stats.log_t_interval(values)
    logs = np.log(values)
    half = 3.182446305284263 * logs.std(axis=0, ddof=1) / 2.0  # t_{0.975, 3}, sqrt(4)
    np.testing.assert_allclose(geomean, np.exp(logs.mean(axis=0)))
    np.testing.assert_allclose(geomean[0], 2.0**1.5)  # (1 * 2 * 4 * 8) ** (1/4)
    np.testing.assert_allclose(lo, np.exp(logs.mean(axis=0) - half))
    np.testing.assert_allclose(hi, np.exp(logs.mean(axis=0) + half))
    # Symmetric on a log axis, always positive, and a constant ratio has no width.
    np.testing.assert_allclose(geomean / lo, hi / geomean)
    assert np.all(lo > 0)
    same = stats.log_t_interval([[3.0], [3.0], [3.0]])
    np.testing.assert_allclose(np.ravel(same), [3.0, 3.0, 3.0])
    # Non-positive and NaN values make that step undefined, not a crash.
    bad = stats.log_t_interval([[1.0, 1.0, 1.0], [0.0, np.nan, 2.0]])
    assert np.isnan(bad[0][:2]).all() and np.isfinite(bad[0][2])


def test_block_means_and_their_steps():
    curves = np.arange(2 * 7, dtype=float).reshape(2, 7)
    np.testing.assert_allclose(stats.block_means(curves, 3),
                               [[1.0, 4.0, 6.0], [8.0, 11.0, 13.0]])
    np.testing.assert_allclose(stats.block_steps(7, 3), [1.0, 4.0, 6.0])
    np.testing.assert_allclose(stats.block_means(curves, 1), curves)
    assert np.isinf(stats.block_means([[1.0, np.inf, 2.0]], 2)[0, 0])


def test_band_stores_per_seed_block_means():
    rng = np.random.default_rng(0)
    curves = np.exp(rng.normal(size=(4, 450)))
    band = stats.band(curves)
    assert band["per_seed"]["every"] == 3  # ceil(450 / 200)
    values = np.array(band["per_seed"]["values"])
    assert values.shape == (4, 150)
    np.testing.assert_allclose(values, curves.reshape(4, 150, 3).mean(axis=2), rtol=1e-4)
    np.testing.assert_allclose(band["mean"], curves.mean(axis=0))
    short = stats.band(curves[:, :50])
    assert short["per_seed"]["every"] == 1
    np.testing.assert_allclose(short["per_seed"]["values"], curves[:, :50], rtol=1e-4)


def test_paired_log_ratio_against_numpy():
    learned = np.array([[1.0, 2.0], [2.0, 6.0], [4.0, 5.0]])
    adam = np.array([[2.0, 2.0], [4.0, 3.0], [8.0, 10.0]])
    ratio, lo, hi = stats.paired_log_ratio(learned, adam)
    logs = np.log(learned / adam)
    half = 4.302652729911275 * logs.std(axis=0, ddof=1) / np.sqrt(3)
    np.testing.assert_allclose(ratio, np.exp(logs.mean(axis=0)))
    np.testing.assert_allclose([lo, hi], [np.exp(logs.mean(axis=0) - half),
                                          np.exp(logs.mean(axis=0) + half)])
    assert ratio[0] == pytest.approx(0.5) and lo[0] == pytest.approx(0.5)  # paired: no spread


def test_lognormal_from_t_band_recovers_a_lognormal():
    # A lognormal with mu = 0.3, sigma = 0.5 has mean exp(mu + sigma^2 / 2) and
    # sd = mean * sqrt(exp(sigma^2) - 1); its stored t-band is mean -+ t * sd / sqrt(n).
    mu, sigma, n = 0.3, 0.5, 10
    mean = math.exp(mu + sigma**2 / 2)
    sd = mean * math.sqrt(math.exp(sigma**2) - 1)
    half = 2.2621571627409915 * sd / math.sqrt(n)  # t_{0.975, 9}
    got_mu, got_sigma = stats.lognormal_from_t_band([mean], [mean - half], [mean + half], n)
    assert got_mu[0] == pytest.approx(mu) and got_sigma[0] == pytest.approx(sigma)


@pytest.mark.parametrize("lo, hi, expected", [
    (0.80, 0.95, "win"),          # the whole CI below 1
    (1.05, 1.40, "loss"),         # the whole CI above 1
    (0.90, 1.10, "no clear difference"),  # the CI contains 1
    (1.00, 1.20, "no clear difference"),  # touching 1 is not a loss
    (math.nan, math.nan, "undetermined"),
    (None, 1.2, "undetermined"),
])
def test_verdict(lo, hi, expected):
    assert stats.verdict(lo, hi) == expected


def _synthetic_results(steps, seeds, per_seed=True, adam_factor=2.0):
    """A results dict as `evaluate` writes it, with known curves."""
    rng = np.random.default_rng(1)
    base = np.exp(-np.linspace(0.0, 3.0, steps))[None, :] * np.exp(
        rng.normal(0.0, 0.1, (seeds, steps)))
    optimizers = {}
    for name, factor in (("learned", 1.0), ("adam", adam_factor), ("sgd", 3.0)):
        curves = base * factor
        band = stats.band(curves)
        if not per_seed:
            del band["per_seed"]
        finals = list(curves[:, -1])
        optimizers[name] = {
            "learning_rate": None if name == "learned" else 0.01,
            "final_loss": stats.summary(finals), "test_metric": None, "curve": band,
            "seconds_per_step": 0.001,
        }
    return {"problem": "synthetic", "steps": steps, "seeds": list(range(seeds)),
            "eval_set": "itself", "optimizers": optimizers, "loss_label": "loss",
            "ratio_to_best_baseline": None, "tuning": {}, "command": "test"}, base


def test_curve_and_ratio_stats_are_exact_with_per_seed_curves():
    from keras_l2l.evaluation import report

    results, base = _synthetic_results(30, 6)
    steps, geomean, lo, hi, per_seed, every = report.curve_stats(
        results["optimizers"]["adam"], 6)
    assert every == 1 and per_seed is not None
    np.testing.assert_allclose(steps, np.arange(30))
    np.testing.assert_allclose(geomean, np.exp(np.log(2.0 * base).mean(axis=0)), rtol=1e-4)
    assert np.all(lo < geomean) and np.all(geomean < hi)
    _, ratio, rlo, rhi, exact = report.ratio_stats(results)
    assert exact
    np.testing.assert_allclose([ratio, rlo, rhi], 0.5, rtol=1e-4)  # paired: exactly 1/2


def test_old_results_without_per_seed_curves_are_approximated():
    from keras_l2l.evaluation import report

    results, _ = _synthetic_results(30, 6, per_seed=False)
    _, geomean, lo, hi, per_seed, _ = report.curve_stats(results["optimizers"]["adam"], 6)
    mean = np.array(results["optimizers"]["adam"]["curve"]["mean"])
    assert per_seed is None and np.all(geomean <= mean)
    assert np.all(lo < geomean) and np.all(geomean < hi)
    _, ratio, rlo, rhi, exact = report.ratio_stats(results)
    assert not exact and np.all(rlo < ratio) and np.all(ratio < rhi)
    np.testing.assert_allclose(ratio, 0.5, rtol=0.02)
    long, _ = _synthetic_results(450, 3, per_seed=False)  # blocks: no band
    _, ratio, rlo, _, _ = report.ratio_stats(long)
    assert len(ratio) == 150 and np.isnan(rlo).all()


@pytest.mark.parametrize("per_seed", [True, False])
def test_curves_png_is_written_and_rerendered_from_results_json(tmp_path, per_seed):
    from keras_l2l.evaluation import report

    results, _ = _synthetic_results(450, 4, per_seed=per_seed)
    write_report(results, tmp_path)
    (tmp_path / "curves.png").unlink()
    (tmp_path / "report.md").unlink()
    assert report.render(tmp_path) == tmp_path / "curves.png"
    assert "| learned |" in (tmp_path / "report.md").read_text()
    with Image.open(tmp_path / "curves.png") as image:
        assert image.format == "PNG" and image.size[0] > 400 and image.size[1] > 600


def test_grid_search_finds_closed_form_best_rate_with_one_trace():
    problem, steps, seeds = Parabola(a=3.0), 10, tuning.tuning_seeds(2)
    run = make_rollout(SGD(), problem)
    final_loss, _ = runs.compile_scores(problem)
    best, means = tuning.tune_learning_rate(
        run, final_loss, runs.initial_params(problem, seeds), steps
    )
    grid = np.array(tuning.LEARNING_RATE_GRID)
    assert len(grid) == 25 and grid[0] == 2.0**-12 and grid[-1] == 1.0
    x0_squared = np.mean([(1.0 + s % 3) ** 2 for s in seeds])
    with np.errstate(over="ignore"):
        closed_form = 3.0 * (1 - 6.0 * grid) ** (2 * steps) * x0_squared
    assert best == grid[np.argmin(closed_form)] == 2.0**-2.5
    finite = closed_form < 1e30
    np.testing.assert_allclose(np.array(means)[finite], closed_form[finite], rtol=1e-3)
    # Overflowing runs (lr = 1 over 60 steps: 5^60) count as +inf; a new horizon needs no trace.
    _, means = tuning.tune_learning_rate(
        run, final_loss, runs.initial_params(problem, seeds), 60, grid=(2.0**-3, 1.0)
    )
    assert np.isfinite(means[0]) and means[1] == np.inf
    assert run.experimental_get_tracing_count() == 1
    assert final_loss.experimental_get_tracing_count() == 1


def test_interrupted_evaluation_resumes_from_its_journal(tmp_path, monkeypatch):
    """Killed after 7 runs, a rerun runs only the others and gives the same results
    (step times aside); a line cut short by the kill is dropped."""
    learned = TrainedRule.untrained(CoordinatewiseLSTM(units=4, num_layers=1))
    settings = dict(steps=5, seeds=3, baselines=["sgd", "adam"], tuning_seeds=2, verbose=0,
                    grid=tuning.COARSE_GRID)
    expected = evaluate(learned, Parabola(), **settings)
    real_run_seed, full_runs = runs.run_seed, []

    def killed_after(count):
        def run_seed(run, meta, params0, seed, steps):
            if steps == 5:  # not the tracing call
                if len(full_runs) == count:
                    raise KeyboardInterrupt
                full_runs.append(seed)
            return real_run_seed(run, meta, params0, seed, steps)
        return run_seed

    monkeypatch.setattr(runs, "run_seed", killed_after(7))
    with pytest.raises(KeyboardInterrupt):
        evaluate(learned, Parabola(), journal_dir=tmp_path, **settings)
    (journal,) = tmp_path.glob("runs-*.jsonl")
    assert len(journal.read_text().splitlines()) == 7
    with open(journal, "a") as f:
        f.write('{"run": "eval/learned/0", "rec')  # the kill cut a write short
    full_runs.clear()
    monkeypatch.setattr(runs, "run_seed", killed_after(10**6))
    resumed = evaluate(learned, Parabola(), journal_dir=tmp_path, **settings)
    total = 2 * len(tuning.COARSE_GRID) * 2 + 3 * 3
    assert len(full_runs) == total - 7
    for results in (expected, resumed):
        for entry in results["optimizers"].values():
            entry.pop("seconds_per_step")
    assert json.dumps(resumed, sort_keys=True) == json.dumps(expected, sort_keys=True)
    # Another evaluation (here: other seeds) never reads this journal.
    assert RunJournal(tmp_path, {"other": 1}).get("eval/learned/0") is None
    remove_journals(tmp_path)
    assert not list(tmp_path.glob("runs-*.jsonl"))


def test_reused_baselines_give_the_full_evaluation_with_learned_runs_only(tmp_path, monkeypatch):
    """`baselines_from` another learned optimizer's results: only the learned seeds run, and
    the results equal a full evaluation's (step times aside); other settings are refused."""
    settings = dict(steps=5, seeds=3, baselines=["sgd", "adam"], tuning_seeds=2, verbose=0,
                    grid=tuning.COARSE_GRID)
    first = TrainedRule.untrained(CoordinatewiseLSTM(units=4, num_layers=1))
    write_report(evaluate(first, Parabola(), **settings), tmp_path / "first")
    second = TrainedRule.untrained(SGD(0.05))
    expected = evaluate(second, Parabola(), **settings)
    real_run_seed, counted = runs.run_seed, []

    def run_seed(run, meta, params0, seed, steps):
        counted.append(steps)
        return real_run_seed(run, meta, params0, seed, steps)

    monkeypatch.setattr(runs, "run_seed", run_seed)
    reused = evaluate(second, Parabola(), baselines_from=tmp_path / "first", **settings)
    assert counted == [1, 5, 5, 5]  # one tracing call, then the three learned seeds
    source = reused.pop("baselines_from")
    assert source["results"] == str(tmp_path / "first" / "results.json")
    assert len(source["sha256"]) == 64
    assert reused["ratio_to_best_baseline"]["mean"] != 1.0
    for results in (expected, reused):
        for entry in results["optimizers"].values():
            entry.pop("seconds_per_step")
    assert json.dumps(json_safe(reused), sort_keys=True) == json.dumps(
        json_safe(expected), sort_keys=True)
    with pytest.raises(ValueError, match=r"other seeds \[0, 1, 2\] \(this run: \[0, 1\]\)"):
        evaluate(second, Parabola(), baselines_from=tmp_path / "first", **{**settings, "seeds": 2})
    with pytest.raises(ValueError, match="other baselines"):
        evaluate(second, Parabola(), baselines_from=tmp_path / "first",
                 **{**settings, "baselines": ["adam"]})
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text('{"problem": ')
    for directory in ("broken", "missing"):
        with pytest.raises(ValueError, match="Cannot reuse baselines from .*results.json"):
            evaluate(second, Parabola(), baselines_from=tmp_path / directory, **settings)


def test_annealed_baselines_are_tuned_with_their_tail_and_reused_only_so(tmp_path):
    """`baselines_anneal=0.5`: SGD's tuning losses are the closed form with rate lr * f(t),
    f falling linearly to 0 over the last half of the run; the setting is recorded, and
    baselines tuned with another one are not reused."""
    steps, seeds = 8, tuning.tuning_seeds(2)
    settings = dict(steps=steps, seeds=2, baselines=["sgd"], tuning_seeds=2, verbose=0,
                    grid=tuning.COARSE_GRID)
    learned = TrainedRule.untrained(SGD(0.05))
    results = evaluate(learned, Parabola(a=3.0), baselines_anneal=0.5, **settings)
    assert results["tuning"]["baselines_anneal"] == 0.5
    grid = np.array(tuning.COARSE_GRID)
    factors = np.clip((steps - np.arange(1, steps + 1) + 1.0) / (0.5 * steps), 0, 1)
    x0_squared = np.mean([(1.0 + s % 3) ** 2 for s in seeds])
    with np.errstate(over="ignore"):
        closed_form = 3.0 * np.prod((1 - 6.0 * grid[:, None] * factors) ** 2, 1) * x0_squared
    np.testing.assert_allclose(results["tuning"]["mean_final_loss"]["sgd"], closed_form,
                               rtol=1e-4)
    assert results["optimizers"]["sgd"]["learning_rate"] == grid[np.argmin(closed_form)]
    write_report(results, tmp_path / "annealed")
    assert "baselines annealed" in (tmp_path / "annealed" / "report.md").read_text()
    with pytest.raises(ValueError, match=r"other baselines anneal 0.5 \(this run: None\)"):
        evaluate(learned, Parabola(a=3.0), baselines_from=tmp_path / "annealed", **settings)
    reused = evaluate(learned, Parabola(a=3.0), baselines_from=tmp_path / "annealed",
                      baselines_anneal=0.5, **settings)
    assert reused["optimizers"]["sgd"] == results["optimizers"]["sgd"]


def test_tuned_learned_multiplier_matches_the_closed_form_and_survives_reuse(tmp_path):
    """`tune_learned`: the learned rule (here SGD at 0.05) with its step multiplier tuned on
    the tuning seeds has the closed-form tuning losses of SGD at 0.05 * s, its eval runs at
    the best s, a ratio of its own, the same report lines; `learned` stays at 1; reusing
    these baselines keeps them and tunes the multiplier again."""
    steps, seeds = 6, tuning.tuning_seeds(2)
    settings = dict(steps=steps, seeds=2, baselines=["sgd"], tuning_seeds=2, verbose=0,
                    grid=tuning.COARSE_GRID)
    learned = TrainedRule.untrained(SGD(0.05))
    results = evaluate(learned, Parabola(a=3.0), tune_learned=True, **settings)
    scales = np.array(tuning.LEARNED_SCALE_GRID)
    assert len(scales) == 9 and scales[0] == 0.25 and scales[-1] == 4.0 and 1.0 in scales

    def closed_form(rates, starts):
        x0_squared = np.mean([(1.0 + s % 3) ** 2 for s in starts])
        return 3.0 * (1 - 6.0 * rates) ** (2 * steps) * x0_squared

    np.testing.assert_allclose(results["tuning"]["mean_final_loss"]["learned_tuned"],
                               closed_form(0.05 * scales, seeds), rtol=1e-4)
    best = scales[np.argmin(closed_form(0.05 * scales, seeds))]
    assert best == 2.0**1.5  # 1 - 6 * 0.05 * 2.83 is closest to 0
    entries = results["optimizers"]
    assert entries["learned_tuned"]["learning_rate"] == best and entries["learned"]["learning_rate"] == 1.0
    for name, rate in (("learned_tuned", 0.05 * best), ("learned", 0.05)):
        for seed, final in zip(results["seeds"], entries[name]["final_loss"]["per_seed"]):
            np.testing.assert_allclose(final, closed_form(rate, [seed]), rtol=1e-4)
    tuned_ratio = results["ratio_tuned_to_best_baseline"]
    expected = np.mean(entries["learned_tuned"]["final_loss"]["per_seed"]) / np.mean(
        entries["sgd"]["final_loss"]["per_seed"])
    np.testing.assert_allclose(tuned_ratio["mean"], expected, rtol=1e-9)
    assert "`learned_tuned`" in tuned_ratio["method"]
    assert results["ratio_to_best_baseline"]["mean"] != tuned_ratio["mean"]
    write_report(results, tmp_path / "tuned")
    report = (tmp_path / "tuned" / "report.md").read_text()
    assert "`learned_tuned` is the same rule with its step multiplier" in report
    assert f"| learned_tuned | {best:.4g} |" in report
    reused = evaluate(learned, Parabola(a=3.0), tune_learned=True,
                      baselines_from=tmp_path / "tuned", **settings)
    for key in ("sgd", "learned_tuned"):
        assert reused["tuning"]["mean_final_loss"][key] == results["tuning"]["mean_final_loss"][key]
    assert reused["optimizers"]["learned_tuned"]["final_loss"] == entries["learned_tuned"]["final_loss"]
    with pytest.raises(ValueError, match="needs tuning_seeds >= 1"):
        evaluate(learned, Parabola(a=3.0), tune_learned=True, **{**settings, "tuning_seeds": 0,
                                                                  "baselines": []})


def test_thread_settings_fall_back_to_the_environment(monkeypatch):
    """TF reports 0 for counts set only through its environment variables, which the
    suite's parallel jobs use; results record those."""
    assert tf.config.threading.get_intra_op_parallelism_threads() == 0
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    assert runs.thread_settings() == {"intra_op": 3, "inter_op": 0,
                                      "cpu_count": os.cpu_count()}


def test_journaled_curves_are_exact():
    float32_losses = np.float32([0.3, np.nan, np.inf, 2.5e-7]).astype(np.float64)
    lbfgs_like = np.array([0.1, 1e-40, 1.0 / 3.0])  # float64 values float32 cannot hold
    for curve, dtype in ((float32_losses, "float32"), (lbfgs_like, "float64")):
        encoded = json.loads(json.dumps(encode_curve(curve)))
        assert encoded["dtype"] == dtype
        np.testing.assert_array_equal(decode_curve(encoded), curve)


def test_lbfgs_curve_is_padded_after_convergence():
    problem = Parabola()
    value_and_grad = lbfgs.compile_value_and_grad(problem)
    params0 = runs.initial_params(problem, [1])[1]
    curve, final, final_loss, seconds = lbfgs.run_lbfgs(value_and_grad, params0, 1, 8)
    assert curve.shape == (8,) and curve[0] == pytest.approx(12.0)
    assert np.all(np.diff(curve) <= 0) and final_loss < 1e-8 and seconds > 0
    assert abs(float(final[0])) < 1e-4


def test_load_rule_untrained_and_preset_directories(tmp_path):
    untrained = load_rule("untrained")
    assert isinstance(untrained.rule, CoordinatewiseLSTM) and untrained.name is None
    for key, value in CoordinatewiseLSTM().init_meta_params(0).items():
        np.testing.assert_array_equal(untrained.meta_params[key], value.numpy())

    rule = CoordinatewiseLSTM(units=4, num_layers=1, output_scale=0.5)
    trained = TrainedRule.untrained(rule, seed=3)
    directory = presets.save_preset(tmp_path / "full", trained)
    loaded = load_rule(str(directory))
    assert loaded.rule_config() == trained.rule_config()
    assert sorted(loaded.meta_params) == sorted(trained.meta_params)
    for key, value in trained.meta_params.items():
        np.testing.assert_array_equal(loaded.meta_params[key], value)

    # The old bare format (config.json + weights.npz only) is refused, naming what is missing.
    (directory / "provenance.json").unlink()
    with pytest.raises(presets.PresetError, match="missing provenance.json"):
        load_rule(str(directory))
    with pytest.raises(ValueError, match="Unknown preset"):
        load_rule(str(tmp_path / "missing"))


def test_diverged_seeds_are_reported_not_fatal(tmp_path):
    results = evaluate(
        TrainedRule(Exploding(), {}), Parabola(), steps=4, seeds=2, baselines=["sgd", "lbfgs"],
        tuning_seeds=1, verbose=0,
    )
    assert results["diverged_seeds"] == {"learned": [0, 1], "sgd": []}
    # A plain Problem does not declare its eval_loss full-batch, so L-BFGS is skipped, saying why.
    assert "not declared" in results["skipped"]["lbfgs"]
    assert results["tuning"]["at_grid_edge"] == []
    assert math.isinf(results["optimizers"]["learned"]["final_loss"]["mean"])
    assert math.isnan(results["ratio_to_best_baseline"]["mean"])
    assert "learned_preset" not in results  # an unnamed rule
    write_report(results, tmp_path, "test")
    saved = json.loads((tmp_path / "results.json").read_text(), parse_constant=_no_constants)
    assert saved["optimizers"]["learned"]["final_loss"]["per_seed"] == [None, None]
    assert "diverged" in (tmp_path / "report.md").read_text()


def tiny_keras_problem(*middle):
    """A 4-16-3 classifier on 32 random examples, with `middle` layers after the hidden one."""
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(16, activation="relu"), *middle,
         keras.layers.Dense(3)]
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=32).astype(np.int32)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    return KerasProblem(model, loss, x, y, batch_size=8)


def test_keras_problem_gets_lbfgs_and_its_loss_label():
    learned = TrainedRule.untrained(CoordinatewiseLSTM(units=4, num_layers=1)).replace(name="tiny")
    results = evaluate(
        learned, tiny_keras_problem(), steps=3, seeds=2, baselines=("adam", "lbfgs"),
        tuning_seeds=1, verbose=0,
    )
    _check_results(results)
    assert list(results["optimizers"]) == ["learned", "adam", "lbfgs"]
    assert results["skipped"] == {}
    assert results["loss_label"] == "sparse_categorical_crossentropy"
    assert results["learned_preset"] == "tiny"
    lbfgs_curve = results["optimizers"]["lbfgs"]["curve"]["mean"]
    assert lbfgs_curve[-1] < lbfgs_curve[0]  # it minimized the full-batch loss


def test_keras_problem_with_dropout_skips_lbfgs_and_says_why():
    learned = TrainedRule.untrained(CoordinatewiseLSTM(units=4, num_layers=1))
    problem = tiny_keras_problem(keras.layers.Dropout(0.5))
    results = evaluate(learned, problem, steps=2, seeds=1, baselines=("lbfgs",), verbose=0)
    assert list(results["optimizers"]) == ["learned"]
    reason = results["skipped"]["lbfgs"]
    assert "L-BFGS" in reason and "Dropout" in reason
    assert results["ratio_to_best_baseline"] is None


def _no_constants(name):
    raise AssertionError(f"results.json contains the non-JSON constant {name}")


def _check_summary(summary, num_seeds):
    assert set(summary) == {"mean", "ci95", "per_seed"}
    assert isinstance(summary["mean"], float)
    lo, hi = summary["ci95"]
    assert isinstance(lo, float) and isinstance(hi, float)
    assert lo <= summary["mean"] <= hi
    assert len(summary["per_seed"]) == num_seeds
    assert all(isinstance(v, float) for v in summary["per_seed"])


def _check_results(results):
    """The results.json contract."""
    assert isinstance(results["problem"], str) and isinstance(results["eval_set"], str)
    steps, seeds = results["steps"], results["seeds"]
    assert isinstance(steps, int) and all(isinstance(s, int) for s in seeds)
    assert results["threads"] == runs.thread_settings()
    # the code that made the numbers (this checkout's commit, or "unknown" outside git)
    assert results["git_hash"] == git_hash()
    for name, entry in results["optimizers"].items():
        assert set(entry) == {
            "learning_rate", "final_loss", "test_metric", "curve", "seconds_per_step"
        }, name
        assert entry["learning_rate"] is None or isinstance(entry["learning_rate"], float)
        _check_summary(entry["final_loss"], len(seeds))
        if entry["test_metric"] is not None:
            _check_summary(entry["test_metric"], len(seeds))
        curve = entry["curve"]
        assert set(curve) == {"mean", "lo", "hi", "per_seed"}
        for key in ("mean", "lo", "hi"):
            assert len(curve[key]) == steps and all(isinstance(v, float) for v in curve[key])
        assert all(lo <= m <= hi for lo, m, hi in zip(curve["lo"], curve["mean"], curve["hi"]))
        every, values = curve["per_seed"]["every"], curve["per_seed"]["values"]
        assert len(values) == len(seeds)
        assert all(len(row) == math.ceil(steps / every) for row in values)
        assert isinstance(entry["seconds_per_step"], float) and entry["seconds_per_step"] > 0


def test_cli_evaluate_end_to_end(tmp_path):
    argv = [
        "evaluate", "--optimizer", "untrained", "--problem", "quadratic", "--steps", "20",
        "--seeds", "3", "--baselines", "sgd,adam,lbfgs", "--tuning-seeds", "2",
        "--out", str(tmp_path),
    ]
    main(argv)
    results = json.loads((tmp_path / "results.json").read_text(), parse_constant=_no_constants)
    _check_results(results)
    assert results["problem"] == "quadratic" and results["steps"] == 20
    assert results["seeds"] == [0, 1, 2]
    assert results["loss_label"] == "‖Wθ − y‖² (unitless)" and results["skipped"] == {}
    optimizers = results["optimizers"]
    assert list(optimizers) == ["learned", "sgd", "adam", "lbfgs"]
    assert optimizers["learned"]["learning_rate"] == 1.0
    assert optimizers["lbfgs"]["learning_rate"] is None
    assert optimizers["sgd"]["learning_rate"] in tuning.LEARNING_RATE_GRID
    assert optimizers["sgd"]["test_metric"] is None  # the quadratic has none
    # Same start for everyone: the loss before the first update is identical.
    first = {name: entry["curve"]["mean"][0] for name, entry in optimizers.items()}
    assert len(set(first.values())) == 1, first
    ratio = results["ratio_to_best_baseline"]
    assert ratio["baseline"] in ("sgd", "adam")
    assert ratio["ci95"][0] <= ratio["mean"] <= ratio["ci95"][1]
    assert results["tuning"]["seeds"] == [10_000, 10_001]
    assert results["command"] == "keras-l2l " + " ".join(argv)

    report = (tmp_path / "report.md").read_text()
    assert "| optimizer | learning rate | final loss |" in report
    for name in optimizers:
        assert f"| {name} |" in report
    assert results["command"] in report

    png = tmp_path / "curves.png"
    assert png.stat().st_size > 10_000
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] > 400

    # Another optimizer against these tuned baselines (L-BFGS included), without rerunning them.
    reuse = [*argv[:-1], str(tmp_path / "reused"), "--baselines-from", str(tmp_path)]
    reuse[reuse.index("untrained")] = "quadratic"
    main(reuse)
    reused = json.loads((tmp_path / "reused" / "results.json").read_text())
    assert reused["learned_preset"] == "quadratic"
    assert {name: reused["optimizers"][name] for name in ("sgd", "adam", "lbfgs")} == {
        name: optimizers[name] for name in ("sgd", "adam", "lbfgs")}
    assert "- baselines reused from" in (tmp_path / "reused" / "report.md").read_text()


def test_wide_grid_reaches_the_rates_of_tiny_gradients():
    """`--grid wide` (style-transfer pixels: NAG's tuned rate was 2^10) parses and is described."""
    from keras_l2l.cli import build_parser

    grid = tuning.GRIDS["wide"]
    assert tuning.describe_grid(grid) == "2^-12 .. 2^12 in steps of 2^1 (25 values)"
    args = build_parser().parse_args(
        ["evaluate", "--optimizer", "art", "--problem", "quadratic", "--steps", "5",
         "--seeds", "2", "--out", "x", "--grid", "wide"])
    assert tuning.GRIDS[args.grid] == grid and 2.0**10 in grid
