"""`GroupedRule`: sub-rules on their own coordinates, grouping by kind, meta-training, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import numpy_reference as ref
from keras_l2l import LearnedOptimizer, MetaTrainer, TrainedRule, flat
from keras_l2l.problems.conv import paper_convnet
from keras_l2l.problems.keras_problem import KerasProblem
from keras_l2l.rules import (
    CoordinatewiseLSTM, GroupedRule, HierarchicalLSTM, deserialize_rule, group_by_kind,
)

# Conv and dense variables interleaved, so each group's coordinates are not one slice.
SHAPES = [(2, 2, 1, 3), (3,), (4, 3), (3,), (2, 2, 3, 2), (2,), (2, 2)]
KINDS = ["conv", "conv", "dense", "dense", "conv", "conv", "dense"]
CONV = CoordinatewiseLSTM(units=3, preprocessing="log_sign", output_scale=0.1)
DENSE = CoordinatewiseLSTM(units=4, num_layers=1, preprocessing="none", output_scale=0.05)


def random_meta(rule, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(scale=0.5, size=s) for k, s in rule.meta_param_shapes().items()}


def tiny_conv_model():
    return keras.Sequential([
        keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.Flatten(), keras.layers.Dense(2),
    ])


def test_equals_each_sub_rule_on_its_own_coordinates():
    """NumPy reference: each group's coordinates through its own LSTM, scattered back."""
    rule = GroupedRule({"conv": CONV, "dense": DENSE})
    meta = random_meta(rule)
    meta_tf = {k: tf.constant(v, tf.float32) for k, v in meta.items()}
    starts = np.cumsum([0] + flat.sizes_of(SHAPES))
    coordinates = {
        group: np.concatenate([np.arange(starts[i], starts[i + 1])
                               for i, kind in enumerate(KINDS) if kind == group])
        for group in ("conv", "dense")
    }
    configs = {"conv": (3, 2, "log_sign", 0.1), "dense": (4, 1, "none", 0.05)}
    expected_state = {g: ref.init_state(len(coordinates[g]), *configs[g][:2]) for g in configs}
    state = rule.initial_state_for(SHAPES)
    rng = np.random.default_rng(1)
    for step in range(3):
        grads = rng.normal(size=starts[-1]) * 10.0 ** rng.uniform(-4, 0, size=starts[-1])
        updates, state = rule(meta_tf, tf.constant(grads, tf.float32), state)
        expected = np.full(starts[-1], np.nan)
        for group, (units, layers, kind, scale) in configs.items():
            sub_meta = {k.split(".", 1)[1]: v for k, v in meta.items() if k.startswith(group)}
            expected[coordinates[group]], expected_state[group] = ref.lstm_rule(
                sub_meta, grads[coordinates[group]], expected_state[group], units, layers,
                kind, output_scale=scale)
            for key, value in expected_state[group].items():
                np.testing.assert_allclose(state[f"{group}.{key}"].numpy(), value,
                                           rtol=1e-4, atol=1e-6, err_msg=f"step {step} {key}")
        np.testing.assert_allclose(updates.numpy(), expected, rtol=1e-4, atol=1e-7)
    assert np.abs(expected).min() > 0  # every coordinate got an update from its group


def test_grouping_by_kind_on_the_paper_convnet():
    """Conv kernels and the biases / batch norms after them go to "conv", the rest to "dense"."""
    model = paper_convnet((32, 32, 3), 10)
    shapes = [tuple(v.shape) for v in model.trainable_variables]
    assert group_by_kind(shapes) == ["conv"] * 12 + ["dense"] * 6
    assert group_by_kind(SHAPES) == KINDS
    assert group_by_kind([(3,), (2, 2, 1, 3), (4,)]) == ["conv", "conv", "conv"]
    assert group_by_kind([(3,), ()]) == ["dense", "dense"]
    rule = GroupedRule({"conv": CONV, "dense": DENSE})
    state = rule.initial_state_for(shapes)
    conv_size = sum(int(np.prod(s)) for s in shapes[:12])
    assert state["conv-coordinates"].shape == (conv_size,)
    assert state["dense.lstm0_h"].shape == (sum(flat.sizes_of(shapes)) - conv_size, 4)


def test_meta_training_changes_both_sub_rules():
    """MetaTrainer over a conv problem: meta-gradients reach the conv and the dense LSTM."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 2, size=64)
    problem = KerasProblem(tiny_conv_model(), keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction=None), x, y, batch_size=16)
    start = TrainedRule.untrained(GroupedRule({"conv": CONV, "dense": DENSE}))
    trainer = MetaTrainer(start, problem, horizon=4, unroll=2, validation_every=1,
                          validation_runs=1, meta_optimizer=keras.optimizers.Adam(1e-2))
    trainer.fit(1, verbose=0)
    trained = trainer.trained_rule().meta_params
    for group in ("conv", "dense"):
        key = f"{group}.lstm0_kernel"
        assert np.abs(trained[key] - start.meta_params[key]).max() > 1e-4, group
    assert np.isfinite(float(trainer.best_validation.numpy()))


def test_keras_fit_save_load_and_preset_round_trip(tmp_path):
    rule = GroupedRule({"conv": CONV, "dense": DENSE})
    trained = TrainedRule(rule, random_meta(rule, seed=2))
    trained.save_to_preset(tmp_path / "preset")
    loaded_rule = TrainedRule.from_preset(tmp_path / "preset")
    assert loaded_rule.rule_config() == trained.rule_config()
    for key, value in trained.meta_params.items():
        np.testing.assert_array_equal(loaded_rule.meta_params[key], value)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 2, size=32)
    keras.utils.set_random_seed(0)
    model = tiny_conv_model()
    model.compile(optimizer=LearnedOptimizer.from_preset(str(tmp_path / "preset")),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [v.numpy() for v in model.trainable_variables]
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert all(not np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_variables))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.optimizer.get_config()["rule"] == trained.rule_config()
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_variables_without_a_gradient_keep_their_group_state():
    """Rows of frozen variables stay put, per coordinate (LSTM) and per variable (hierarchical)."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    variables = model.trainable_variables
    rule = GroupedRule({"a": CONV, "b": HierarchicalLSTM(tensor_units=3)},
                       assignment=["a", "b", "b", "a"])
    opt = LearnedOptimizer(rule=rule, state_dtype="bfloat16")
    opt.set_meta_weights(random_meta(rule, seed=5))
    grads = [tf.ones_like(v) * 0.1 for v in variables]
    opt.apply(grads, variables)
    state = opt.rule_state()
    frozen = [v.numpy() for v in variables]
    opt.apply(grads[:2], variables[:2])  # the output layer (kernel in "b", bias in "a") is frozen
    after = opt.rule_state()
    for i in (2, 3):
        np.testing.assert_array_equal(variables[i].numpy(), frozen[i])
    np.testing.assert_array_equal(after["a.lstm0_h"][-1], state["a.lstm0_h"][-1])
    assert not np.array_equal(after["a.lstm0_h"][:-1], state["a.lstm0_h"][:-1])
    np.testing.assert_array_equal(after["b.tensor_h"][1], state["b.tensor_h"][1])
    assert not np.array_equal(after["b.tensor_h"][0], state["b.tensor_h"][0])
    np.testing.assert_array_equal(after["b.moments"][4:], state["b.moments"][4:])
    stored = {v.name: v.dtype for v in opt.variables}
    assert stored["state_a.lstm0_h"] == "bfloat16" and stored["state_b.tensor_h"] == "float32"
    assert stored["state_a-coordinates"] == "int32"


def test_config_round_trip_and_clear_errors():
    rule = GroupedRule({"conv": CONV, "dense": {"class_name": "CoordinatewiseLSTM", "config": DENSE.get_config()}})
    again = deserialize_rule({"class_name": "GroupedRule", "config": rule.get_config()})
    assert again.get_config() == rule.get_config()
    assert list(again.meta_param_shapes()) == list(rule.meta_param_shapes())
    with pytest.raises(ValueError, match="Unknown group.*'convolution'"):
        GroupedRule({"convolution": CONV})
    with pytest.raises(ValueError, match="unknown group.*'c'"):
        GroupedRule({"a": CONV}, assignment=["a", "c"])
    with pytest.raises(ValueError, match=r"Variable 2 \(shape \(4, 3\)\).*'dense'"):
        GroupedRule({"conv": CONV}).initial_state_for(SHAPES)
    with pytest.raises(ValueError, match="2 group names but the model has 7"):
        GroupedRule({"a": CONV}, assignment=["a", "a"]).initial_state_for(SHAPES)
    with pytest.raises(ValueError, match="initial_state_for"):
        GroupedRule({"conv": CONV}).initial_state([3, 4])
    with pytest.raises(ValueError, match="identifiers"):
        GroupedRule({"a.b": CONV}, assignment=["a.b"])
    with pytest.raises(ValueError, match="non-empty dict"):
        GroupedRule({})
