"""1. Update-step efficiency: how close one learned-optimizer update comes to matmul speed.

The update's MAC rate is compared with a large matmul's, timed in the same
rounds; an op-type profile shows where the rest of the time goes.
"""

import keras
import numpy as np
import tensorflow as tf

from common import interleaved, log, median, timed
from keras_l2l import LearnedOptimizer
from keras_l2l.rules import CoordinatewiseLSTM

MATMUL_SIZE = 2048  # reference: a [2048, 2048] @ [2048, 2048] float32 matmul
PROFILE_MAX_COORDINATES = 1_000_000


def update_macs_per_coordinate(rule):
    """Multiply-adds per coordinate of one rule call (LSTM layers and output layer).

    sum over layers l of (in_l + units) * 4 * units  +  units, where in_0 is the
    number of preprocessed features (2 for log/sign) and in_l = units after.
    Elementwise work (gates, preprocessing) is not counted.
    """
    macs, inputs = 0, rule.get_config()["preprocessing"]
    inputs = 1 if inputs == "none" else 2
    for _ in range(rule.num_layers):
        macs += (inputs + rule.units) * 4 * rule.units
        inputs = rule.units
    return macs + rule.units


def matmul_reference():
    """A compiled large float32 matmul and its multiply-adds: the machine's best MAC rate."""
    a = tf.random.stateless_normal([MATMUL_SIZE] * 2, seed=[1, 2])
    b = tf.random.stateless_normal([MATMUL_SIZE] * 2, seed=[3, 4])
    fn = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    fn()
    return fn, MATMUL_SIZE**3


def bench_update(sizes, rounds):
    """MAC rate of the fused update over the MAC rate of a large matmul."""
    rule = CoordinatewiseLSTM()
    meta = rule.init_meta_params(0)
    macs = update_macs_per_coordinate(rule)
    reference = matmul_reference()
    rows = []
    for n in sizes:
        log(f"update: {n:,} coordinates")
        rows += time_update(rule, meta, n, macs, reference, rounds)
    log(f"update: op profile, {PROFILE_MAX_COORDINATES:,} coordinates, graph mode")
    profile = profile_update(PROFILE_MAX_COORDINATES)
    return {"macs_per_coordinate": macs, "rows": rows, "profile_graph_1m": profile}


def update_step(rule, meta, state, jit):
    """The update as `LearnedOptimizer`'s fused step runs it: state read from and written to variables."""

    @tf.function(jit_compile=jit)
    def step(grads):
        current = {k: v.read_value() for k, v in state.items()}
        updates, new_state = rule(meta, grads, current)
        for key, variable in state.items():
            variable.assign(new_state[key])
        return tf.reduce_sum(updates)

    return step


def optimizer_step(n, grads):
    """`LearnedOptimizer(preset=None).apply` on one variable of `n` coordinates, compiled:
    the update as `fit` runs it, in chunks of `chunk_size` (16,384) coordinates above that."""
    variable = keras.Variable(np.zeros(n, np.float32))
    optimizer = LearnedOptimizer(preset=None)
    optimizer.build([variable])
    step = tf.function(lambda: optimizer.apply([grads], [variable]))
    return lambda: (step(), variable.value[:1].numpy())


def matmuls_only(rule, meta, n):
    """The rule's matmuls at the update's shapes and nothing else, traced: its "matmul share"."""
    layer_inputs = [
        tf.random.stateless_normal([n, shape[0]], seed=[7, i])
        for i, shape in enumerate(rule.meta_param_shapes().values())
        if len(shape) == 2
    ]
    kernels = [m for m in meta.values() if len(m.shape) == 2]
    fn = tf.function(
        lambda: tf.add_n([tf.reduce_sum(tf.matmul(x, k)) for x, k in zip(layer_inputs, kernels)])
    )
    fn()
    return fn


def time_update(rule, meta, n, macs, reference, rounds):
    """Rows (graph, XLA, optimizer) for `n` coordinates; locals, hence gigabytes at 10M, go on return."""
    grads = tf.random.stateless_normal([n], seed=[5, 6]) * 1e-3
    state = {k: tf.Variable(v) for k, v in rule.init_state(n).items()}
    steps = {"graph": update_step(rule, meta, state, False),
             "xla": update_step(rule, meta, state, True)}
    steps = {key: (lambda s=s: s(grads)) for key, s in steps.items()}
    steps["optimizer"] = optimizer_step(n, grads)
    compile_times = {key: timed(step) for key, step in steps.items()}
    matmul, matmul_macs = reference
    fns = {"matmul": matmul, **steps}
    if n <= PROFILE_MAX_COORDINATES:  # the largest size's inputs alone would take gigabytes
        fns["matmuls_only"] = matmuls_only(rule, meta, n)
    times = interleaved(fns, rounds)
    reference_rate = matmul_macs / median(times["matmul"])
    rows = []
    for key, mode in (("graph", "graph"), ("xla", "XLA"), ("optimizer", "optimizer")):
        seconds = median(times[key])
        rate = macs * n / seconds
        rows.append(
            {
                "coordinates": n,
                "mode": mode,
                "update_ms": seconds * 1e3,
                "gmacs": rate / 1e9,
                "matmul_gmacs": reference_rate / 1e9,
                "ratio": rate / reference_rate,
                "matmul_share": (
                    median(times["matmuls_only"]) / seconds if "matmuls_only" in times else None
                ),
                "first_call_s": compile_times[key],
            }
        )
    return rows


def profile_update(n, runs=3, top=8):
    """Per-op-type share of the graph-mode update's op time (TF step stats).

    Builds the same update (rule call, state read and assign) as a TF1-style
    graph and runs it with full tracing; returns `[(op type, ms per run,
    share)]`, largest first. Fused kernels count once (e.g. oneDNN's
    MatMul + BiasAdd + Sigmoid is one `_MklNativeFusedMatMul`).
    """
    tf1 = tf.compat.v1
    rule = CoordinatewiseLSTM()
    graph = tf1.Graph()
    with graph.as_default():
        meta = {k: tf1.Variable(v) for k, v in rule.init_meta_params(0).items()}
        grads = tf1.Variable(tf.random.stateless_normal([n], seed=[5, 6]) * 1e-3)
        state = {k: tf1.Variable(v) for k, v in rule.init_state(n).items()}
        updates, new_state = rule(
            {k: v.read_value() for k, v in meta.items()},
            grads.read_value(),
            {k: v.read_value() for k, v in state.items()},
        )
        step = tf.group([state[k].assign(new_state[k]) for k in state] + [updates])
        init = tf1.global_variables_initializer()
    totals = {}
    with tf1.Session(graph=graph) as session:
        session.run(init)
        session.run(step)
        for _ in range(runs):
            metadata = tf1.RunMetadata()
            options = tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE)
            session.run(step, options=options, run_metadata=metadata)
            add_op_times(metadata.step_stats, totals)
    total = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:top]
    return [(op, micros / runs / 1e3, micros / total) for op, micros in ranked]


def add_op_times(step_stats, totals):
    """Add each node's microseconds to `totals[op type]` (op types sum over all their nodes)."""
    for device in step_stats.dev_stats:
        for node in device.node_stats:
            label = node.timeline_label
            op = node.node_name
            if "=" in label:  # "name = OpType(inputs)"
                op = label.split("=", 1)[1].split("(")[0].strip()
            micros = node.op_end_rel_micros - node.op_start_rel_micros
            totals[op] = totals.get(op, 0) + micros
