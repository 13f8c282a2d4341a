"""The meta-training task family: names rebuild tasks, samples, training signal, suite distance."""

import math

import numpy as np
import pytest
import tensorflow as tf

from keras_l2l import flat
from keras_l2l.meta.trainer import MetaTrainer
from keras_l2l.problems import family, family_names, get_problem, sample_tasks
from keras_l2l.problems.suite_tasks import SUITE, TASKS
from keras_l2l.rollout import make_rollout
from keras_l2l.rules import Adam, HierarchicalLSTM
from keras_l2l.trained_rule import TrainedRule

#: Layers that only the held-out suite's designs use (dense autoencoders use Dense only).
SUITE_ONLY_LAYERS = {
    "LSTM", "Dropout", "SeparableConv2D", "Conv2DTranspose", "MultiHeadAttention",
    "LayerNormalization", "GlobalAveragePooling2D", "GlobalAveragePooling1D", "Embedding",
    "Concatenate", "Conv1D",
}


@pytest.fixture(scope="module")
def one_of_each(data_dir):
    """One task of every kind (a 6-name sample covers them all)."""
    return sample_tasks(len(family.KINDS), seed=0, data_dir=data_dir)


def test_sample_is_deterministic_distinct_and_covers_every_kind():
    names = family_names(12, seed=3)
    assert names == family_names(12, seed=3) and names != family_names(12, seed=4)
    assert len(set(names)) == 12
    kinds = [family.parse_name(name)[0] for name in names]
    assert sorted(kinds[:6]) == sorted(family.KINDS) == sorted(kinds[6:])  # in turns
    assert family_names(20, seed=3)[:12] == names  # a longer sample extends a shorter one
    assert not any("/regions/" in name for name in family_names(300))  # drawn only when named
    assert {family.parse_name(n)[0] for n in family.expand("family:3:1:regions")} == {"regions"}
    assert family.expand("family:12:3") == names and family.expand("family:5") == family_names(5)
    chosen = family.expand("family:7:1:mlp+conv")
    assert {family.parse_name(name)[0] for name in chosen} == {"mlp", "conv"}
    for bad in ("family:x", "family:3:1:lstm", "mnist"):
        with pytest.raises(ValueError):
            family.expand(bad)
    for bad in ("family/lstm/1", "family/mlp/x", "family/mlp/1/2"):
        with pytest.raises(ValueError):
            family.parse_name(bad)
    with pytest.raises(ValueError, match="expand"):
        get_problem("family:4")


def test_specs_are_deterministic_and_within_the_cost_budget():
    for kind in family.KINDS + family.EXTRA_KINDS:
        for seed in range(300):
            spec = family.task_spec(kind, seed)
            assert spec == family.task_spec(kind, seed)
            assert family.step_cost(spec) <= family.COST_BUDGET, spec
            assert 16 <= spec["batch_size"] <= 256 and 1 / math.e <= spec["input_scale"] <= math.e
    paper_mlp = family.step_cost({"kind": "mlp", "dataset": "mnist", "side": 28,
                                  "hidden": [20], "batch_size": 128})
    assert round(paper_mlp) == 16_317 and family.COST_BUDGET < 4 * paper_mlp


def test_names_rebuild_identical_tasks(one_of_each, data_dir):
    for problem in one_of_each:
        again = get_problem(problem.name, data_dir)
        assert again.name == problem.name and again.description == problem.description
        assert again.family_spec == problem.family_spec
        np.testing.assert_array_equal(again.x_train.numpy(), problem.x_train.numpy())
        np.testing.assert_array_equal(again.y_train.numpy(), problem.y_train.numpy())
        for a, b in zip(again.init_params(7), problem.init_params(7)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        for a, b in zip(again.batch(7, 3), problem.batch(7, 3)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert not np.array_equal(again.batch(7, 4)[0].numpy(), problem.batch(7, 3)[0].numpy())


def test_tasks_match_their_specs(one_of_each):
    assert sorted(p.family_spec["kind"] for p in one_of_each) == sorted(family.KINDS)
    for problem in one_of_each:
        spec = problem.family_spec
        params, _ = family.model_size(spec)
        assert sum(int(np.prod(s)) for s in problem.shapes()) == params, problem.name
        assert problem.batch_size == spec["batch_size"] and len(problem.x_train) == spec["train"]
        assert problem.loss_label and problem.description.startswith(spec["kind"])
        classifier = spec["kind"] in ("mlp", "logreg", "conv", "rnn")
        assert (problem.test_metric_name == "test_accuracy") == classifier
        brightest = float(tf.reduce_max(problem.x_train))  # pixels reach about 1 unscaled
        assert 0.8 * spec["input_scale"] <= brightest <= 1.0001 * spec["input_scale"]


def test_region_targets_are_standardized_cell_means(data_dir):
    images = np.random.default_rng(0).random((50, 5, 5, 3))
    cells = [images[:, :2, :2], images[:, :2, 2:], images[:, 2:, :2], images[:, 2:, 2:]]
    expected = np.stack([c.mean(axis=(1, 2, 3)) for c in cells], 1)
    expected = (expected - expected.mean(0)) / expected.std(0)
    np.testing.assert_allclose(family.region_targets(images, 2), expected, rtol=1e-4, atol=1e-4)
    problem = get_problem("family/regions/31054", data_dir)  # a linear model, 4x4 grid
    spec = problem.family_spec
    assert spec["hidden"] == [] and problem.y_train.shape == (spec["train"], 16)
    assert sum(int(np.prod(s)) for s in problem.shapes()) == family.model_size(spec)[0]
    rule = Adam(1e-2)  # targets linear in the pixels: the loss falls far below its start
    params = flat.flatten(problem.init_params(0))
    _, final = make_rollout(rule, problem)(
        rule.init_meta_params(), params, tf.constant(0, tf.int64), tf.constant(300)
    )
    before, after = (float(problem.eval_loss(flat.unflatten(p, problem.shapes()), 0))
                     for p in (params, final))
    assert after < 0.05 * before, (before, after)


def test_family_avoids_the_suite_designs(one_of_each):
    names = family_names(300, seed=0)
    assert not {f"suite/{task.name}" for task in SUITE} & set(names)
    assert not set(TASKS) & {name.split("/", 1)[1] for name in names}
    for name in names:
        spec = family.task_spec(*family.parse_name(name))
        assert spec.get("cell", "GRU") in ("SimpleRNN", "GRU")
        assert spec["batch_size"] <= 256  # the suite's logistic regression is at batch 512
    for problem in one_of_each:
        used = {type(layer).__name__ for layer in problem.model._flatten_layers()}
        assert not used & SUITE_ONLY_LAYERS, (problem.name, used & SUITE_ONLY_LAYERS)
        for layer in problem.model._flatten_layers():
            if type(layer).__name__ == "Conv2D":  # the suite's convolutions are strided
                assert tuple(layer.strides) == (1, 1), problem.name


def test_every_kind_learns_under_adam(one_of_each):
    rule = Adam(3e-3)
    for problem in one_of_each:
        params = flat.flatten(problem.init_params(0))
        losses, final = make_rollout(rule, problem)(
            rule.init_meta_params(), params, tf.constant(0, tf.int64), tf.constant(40)
        )
        shapes = problem.shapes()
        before = float(problem.eval_loss(flat.unflatten(params, shapes), 0))
        after = float(problem.eval_loss(flat.unflatten(final, shapes), 0))
        assert np.all(np.isfinite(losses.numpy())) and math.isfinite(after), problem.name
        assert after < 0.9 * before, (problem.name, before, after)


def test_meta_trainer_epoch_on_a_family_sample(data_dir):
    problems = sample_tasks(2, seed=1, data_dir=data_dir, kinds=("conv", "rnn"))
    assert {p.family_spec["kind"] for p in problems} == {"conv", "rnn"}
    rule = HierarchicalLSTM(tensor_units=4, context_units=2, hidden_units=4)
    trainer = MetaTrainer(TrainedRule.untrained(rule), problems, horizon=4, unroll=2,
                          tasks_per_step=2, random_scaling=1.0, log_loss=True,
                          validation_every=0, clip_norm=1.0)
    history = trainer.fit(1, verbose=0)
    assert history["bad_steps"] == [0] and math.isfinite(history["meta_loss"][0])
    assert trainer.trained_rule().provenance["problems"] == [p.name for p in problems]
