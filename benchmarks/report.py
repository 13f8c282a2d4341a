"""The report: targets checked against the measurements, and the Markdown tables.

Rendering works from the results dictionary alone (as written to
benchmarks.json), so a report can be re-rendered without measuring again.
"""

from common import fmt, table
from update import MATMUL_SIZE, PROFILE_MAX_COORDINATES

# Targets: (key, description, threshold, "min" = at least / "max" = at most).
TARGETS = {
    "update_rate_1m": ("update-step MAC rate / large-matmul rate, 1M coordinates", 0.3, "min"),
    "mlp_fit_ratio": ("MNIST MLP fit step, learned / Adam", 1.5, "max"),
    "conv_fit_ratio": ("conv net fit step, learned / Adam", 1.1, "max"),
    "mlp_fit_ratio_hierarchical": ("MNIST MLP fit step, HierarchicalLSTM `general` / Adam", 1.3, "max"),
    "state_bytes_f32": ("per-coordinate state, float32 (bytes/param)", 320, "max"),
    "state_bytes_16": ("per-coordinate state, 16-bit (bytes/param)", 160, "max"),
    "peak_over_state": ("peak of one update above the state, paper's LSTM (B/param)", 64, "max"),
    "hierarchical_state": ("state, HierarchicalLSTM `general` (B/param)", 24, "max"),
    "hierarchical_peak": ("peak above the state, HierarchicalLSTM `general` (B/param)", 64, "max"),
    "peak_over_state_warm": ("the same, paper's LSTM, after a warm-up (B/param)", 64, "max"),
    "hierarchical_peak_warm": ("the same, HierarchicalLSTM, after a warm-up (B/param)", 64, "max"),
    "meta_steps_per_s": ("meta-training, MNIST MLP (optimizee steps/s)", 80, "min"),
}


def target_candidates(results):
    """`{target key: [(value, where)]}` from the sections this run measured."""
    candidates = {}
    update = results.get("update")
    if update:
        candidates["update_rate_1m"] = [
            (r["ratio"], r["mode"]) for r in update["rows"] if r["coordinates"] == 1_000_000
        ]
    fit = results.get("fit")
    if fit:
        candidates["mlp_fit_ratio"] = [
            (r["ratio"], f"jit_compile={r['jit_compile']}")
            for r in fit["rows"]
            if r["model"].startswith("MNIST MLP")
        ]
        candidates["conv_fit_ratio"] = [
            (r["ratio"], f"jit_compile={r['jit_compile']}")
            for r in fit["rows"]
            if r["model"].startswith("paper conv")
        ]
        candidates["mlp_fit_ratio_hierarchical"] = [
            (r["hierarchical_ratio"], f"jit_compile={r['jit_compile']}")
            for r in fit["rows"]
            if r["model"].startswith("MNIST MLP") and "hierarchical_ratio" in r
        ]
    memory = results.get("memory")
    if memory:
        state_dtypes = {"state_bytes_f32": ("float32",), "state_bytes_16": ("bfloat16", "float16")}
        for key, dtypes in state_dtypes.items():
            candidates[key] = [
                (r["per_coordinate_bytes_per_param"], f"{r['optimizer']}, {r['model']}")
                for r in memory["state"]
                if r["optimizer"] in [f"learned {d}" for d in dtypes]
            ]
        for key, label in (("peak_over_state", "learned float32"),
                           ("hierarchical_peak", "hierarchical (general)"),
                           ("peak_over_state_warm", "learned float32, after a warm-up"),
                           ("hierarchical_peak_warm", "hierarchical (general), after a warm-up")):
            candidates[key] = [
                (p["peak_over_state_bytes_per_param"], f"{p['params']:,} parameters")
                for p in memory["peak"]
                if p["optimizer"] == label and "peak_over_state_bytes_per_param" in p
            ]
        candidates["hierarchical_state"] = [
            (r["per_coordinate_bytes_per_param"], r["model"])
            for r in memory["state"]
            if r["optimizer"] == "hierarchical (general)"
        ]
    meta = results.get("meta")
    if meta:
        candidates["meta_steps_per_s"] = [
            (r["steps_per_s"], r["mode"]) for r in meta["rows"] if r["mode"] in ("graph", "xla")
        ]
    return candidates


def evaluate_targets(results):
    """`[{target, threshold, measured, where, met}]` for the targets this run measured.

    Where a figure exists in several modes, the best mode counts for "at least"
    targets (a user can pick it) and the worst for "at most" targets.
    """
    out = []
    for key, values in target_candidates(results).items():
        if not values:
            continue
        description, threshold, kind = TARGETS[key]
        # Largest value: the best mode for "at least", the worst for "at most".
        value, where = max(values, key=lambda v: v[0])
        met = value >= threshold if kind == "min" else value <= threshold
        out.append(
            {
                "target": description,
                "threshold": f"{'>=' if kind == 'min' else '<='} {threshold}",
                "measured": value,
                "where": where,
                "met": met,
            }
        )
    return out


def render(results):
    """The whole report: header, the sections this run measured, targets."""
    parts = render_header(results["environment"])
    for key, section in SECTION_RENDERERS.items():
        if key in results:
            parts += section(results[key])
    parts += render_targets(results["targets"])
    return "\n".join(parts)


def render_header(env):
    """Title and run conditions: the load averages say how far the absolute times can be trusted."""
    return [
        "# keras_l2l benchmarks",
        "",
        f"{env['date']}, {'quick' if env['quick'] else 'full'} run, "
        f"TensorFlow {env['tensorflow']}, Keras {env['keras']}, Python {env['python']}, "
        f"{env['cpus']} CPUs. Load average (1, 5, 15 min) at start "
        f"{env['load_start']}, at end {env['load_end']}. Times are noisy on a loaded "
        "machine; the ratios compare measurements taken side by side (interleaved, "
        "medians). Wall time of this run: "
        f"{env['wall_s']:.0f} s ("
        + ", ".join(
            f"{name} {info['wall_s']:.0f} s, load after {info['load_after'][0]}"
            for name, info in env["sections"].items()
        )
        + ").",
    ]


def render_update(u):
    """Section 1: update rate against the matmul reference, and the op-type profile."""
    return [
        "",
        "## 1. Update-step efficiency",
        "",
        f"Multiply-adds per coordinate: {u['macs_per_coordinate']:,} = sum over LSTM "
        "layers of (in_l + units) * 4 * units, plus units for the output layer "
        "(paper architecture: 2 layers of 20 units, 2 input features). Rate = MACs of "
        f"one update / its time; reference = a {MATMUL_SIZE}^3 float32 `tf.matmul` "
        "(graph mode) timed in the same rounds. Matmul share = time of the rule's "
        "matmuls alone (same shapes) / time of the update.",
        "",
        table(
            ["coordinates", "mode", "update ms", "GMAC/s", "matmul GMAC/s",
             "rate / matmul rate", "matmul share", "first call s"],
            [
                [fmt(r["coordinates"]), r["mode"], fmt(r["update_ms"]), fmt(r["gmacs"]),
                 fmt(r["matmul_gmacs"]), fmt(r["ratio"]),
                 fmt(r["matmul_share"], 2) if r["matmul_share"] else "-",
                 fmt(r["first_call_s"], 2)]
                for r in u["rows"]
            ],
        ),
        "",
        f"Op-type profile of the graph-mode update at {PROFILE_MAX_COORDINATES:,} "
        "coordinates (TF step stats, share of summed op time):",
        "",
        table(
            ["op", "ms per update", "share"],
            [[op, fmt(ms), f"{share:.0%}"] for op, ms, share in u["profile_graph_1m"]],
        ),
    ]


def render_fit(f):
    """Section 2: fit step time, learned optimizer over Adam."""
    return [
        "",
        "## 2. Training-step overhead in `model.fit`",
        "",
        f"Batch {f['batch_size']}, random data, {f['steps_per_fit']} steps per `fit` "
        "call; Adam, LearnedOptimizer (default paper architecture, float32 state) and "
        "the default `LearnedOptimizer()` (preset `general`, a HierarchicalLSTM) fits "
        "alternate, medians per step. `ratio` = learned / Adam from the medians; `ratio "
        "of pairs` = median of the per-round ratios; `hierarchical ratio` = `general` / Adam.",
        "",
        table(
            ["model", "params", "jit_compile", "Adam ms/step", "learned ms/step",
             "ratio", "ratio of pairs", "hierarchical ms/step", "hierarchical ratio"],
            [
                [r["model"], fmt(r["params"]), r["jit_compile"], fmt(r["adam_ms"]),
                 fmt(r["learned_ms"]), fmt(r["ratio"]), fmt(r["ratio_of_pairs"]),
                 fmt(r.get("hierarchical_ms")), fmt(r.get("hierarchical_ratio"))]
                for r in f["rows"]
            ],
        ),
    ]


def render_memory(m):
    """Section 3: state bytes per parameter, then the subprocess peaks (or their errors)."""
    return [
        "",
        "## 3. Memory",
        "",
        "Optimizer variables after `build`: per-coordinate part (Adam: moments; "
        "learned: LSTM state h, c per layer) in bytes per trainable parameter, and "
        "the fixed part (learned: meta-parameters, counters) in bytes.",
        "",
        table(
            ["model", "optimizer", "params", "per-coordinate B/param", "fixed bytes",
             "of which meta-params", "total B/param"],
            [
                [r["model"], r["optimizer"], fmt(r["params"]),
                 fmt(r["per_coordinate_bytes_per_param"]), fmt(r["fixed_bytes"]),
                 fmt(r["meta_param_bytes"]), fmt(r["total_bytes_per_param"])]
                for r in m["state"]
            ],
        ),
        "",
        "Peak process memory of one compiled update (`optimizer.apply` in a "
        "`tf.function`, called twice, after `build`) of a one-layer model with "
        "zero-initialized weights and constant gradients, each run in its own "
        "subprocess: growth of the peak RSS (VmHWM, i.e. `ru_maxrss` of the process's "
        "own address space, reset right before `build`) over the RSS before `build`. "
        "`state` is the optimizer's variables (exact); `above state` = peak growth - "
        "state, the update's temporaries plus fixed costs (traced graphs, buffers), "
        "in bytes per parameter (target for the paper's LSTM and HierarchicalLSTM: "
        "<= 64). A fresh process also pays once for what TensorFlow loads on first "
        "use (kernels' code; XLA's compiler for HierarchicalLSTM, whose chunk parts "
        "are XLA-compiled); `after a warm-up` rows first ran an optimizer of the same "
        "kind on a 22,022-parameter model in the same process, so they show what one "
        "more optimizer's update costs.",
        "",
        table(
            ["optimizer", "params", "state MB", "peak growth MB", "state B/param",
             "above state B/param", "peak / Adam's"],
            [peak_row(p) for p in m["peak"]],
        ),
    ]


def peak_row(p):
    """A peak-memory table row; a failed subprocess shows its last stderr line instead."""
    if "error" in p:
        return [p["optimizer"], "failed: " + " ".join(p["error"]), "", "", "", "", ""]
    return [p["optimizer"], fmt(p.get("params")), fmt(p.get("variables_mb")),
            fmt(p.get("peak_mb")), fmt(p.get("state_bytes_per_param")),
            fmt(p.get("peak_over_state_bytes_per_param")), fmt(p.get("peak_over_adam"))]


def render_meta(mt):
    """Section 4: meta-training throughput per mode and over the forward-only rollout."""
    return [
        "",
        "## 4. Meta-training throughput",
        "",
        f"MetaTrainer on {mt['problem']} ({mt['coordinates']:,} coordinates), horizon "
        f"{mt['horizon']}, unroll {mt['unroll']}, no validation; after a warm-up epoch, "
        f"{mt['epochs_timed']} epochs per mode, interleaved with the forward-only "
        "rollout of the same rule (`make_rollout`, graph mode) over the same horizon. "
        f"XLA / graph throughput: {mt['xla_over_graph']:.2f}.",
        "",
        table(
            ["mode", "optimizee steps/s", "/ rollout", "warm-up s", "traces"],
            [
                [r["mode"], fmt(r["steps_per_s"]), fmt(r["over_rollout"]),
                 fmt(r["warmup_s"], 3), fmt(r["traces"])]
                for r in mt["rows"]
            ],
        ),
    ]


def render_targets(targets):
    """The closing table: each target this run measured, met or not."""
    return [
        "",
        "## Targets",
        "",
        table(
            ["target", "threshold", "measured", "where", "met"],
            [
                [t["target"], t["threshold"], fmt(t["measured"]), t["where"],
                 "met" if t["met"] else "NOT met"]
                for t in targets
            ],
        ),
        "",
    ]


# Report order (the run order differs: memory runs first, see run.RUN_ORDER).
SECTION_RENDERERS = {
    "update": render_update,
    "fit": render_fit,
    "memory": render_memory,
    "meta": render_meta,
}
