"""Is the backpropagated meta-gradient a descent direction at `general-v6`?

Every meta-training run since G (results/general-*/validation.txt) made validation worse
from its start, at meta-learning rates 1e-3 to 1e-4. This asks whether the meta-gradient
itself is useful there, without the noise of 4-task meta-steps: the objective is the suite's
own score on training problems, J = mean over (task, seed) of log eval_loss after a
`--steps`-step run, on fixed seeds; its gradient through the whole run (first order, as
`MetaTrainer` takes it by default, or exact with `--second-order`) is summed over all tasks
and seeds, and J is measured along -sign(g) (Adam's first step) and along -g / rms(g) per
weight tensor, on the same seeds and on other seeds of the same tasks; a random sign
direction of the same size is the control.

    python results/meta-gradient/line_search.py [--steps 200] [--seeds 2] [--other-seeds N] \\
        [--second-order] [--etas ETA ...] [--out FILE.json]

Chosen on training problems (run C's 24 meta-training tasks), never on the held-out suite.
"""

import argparse
import json
import subprocess
import time

import numpy as np
import tensorflow as tf

from keras_l2l import TrainedRule, flat
from keras_l2l.datasets import default_data_dir
from keras_l2l.problems.registry import get_problem
from keras_l2l.rollout import optimizee_step

TASKS = (
    "mnist,mlp/cifar10/32/relu/b128,family/rnn/25500,family/mlp/47832,mnist-relu,"
    "mlp/mnist//sigmoid/b128,family/regression/34030,family/logreg/63419,mlp/mnist/64/tanh/b64,"
    "mlp/fashion_mnist//sigmoid/b64,family/conv/20719,family/autoencoder/51675,"
    "mlp/mnist/32-32/gelu/b128,family/conv/13773,family/rnn/89073,family/autoencoder/15270,"
    "mlp/fashion_mnist/32/relu/b32,family/logreg/44691,family/regression/79555,family/mlp/79921,"
    "mlp/fashion_mnist/64-32/sigmoid/b256,family/autoencoder/36851,family/conv/78111,"
    "family/mlp/88061"
).split(",")
TRAIN_SEED_BASE, OTHER_SEED_BASE = 50_000, 60_000


def compile_run(rule, problem, steps, second_order):
    """Compiled `run(meta, params, seed, with_grad)`: the log final eval_loss of one run and,
    with `with_grad` (a Python bool: one trace each way), its gradient w.r.t. the
    meta-parameters; `second_order` keeps the optimizee gradient's own dependence on them
    (the exact gradient)."""
    shapes = problem.shapes()

    def objective(meta, params, seed):
        state = rule.with_horizon(rule.initial_state_for(shapes), steps)

        def body(t, params, state):
            _, _, updates, state = optimizee_step(
                rule, problem, shapes, meta, params, state, seed, t, stop_gradient=not second_order
            )
            return t + 1, params + updates, state

        _, params, _ = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), params, state))
        return tf.math.log(problem.eval_loss(flat.unflatten(params, shapes), seed))

    @tf.function
    def run(meta, params, seed, with_grad):
        if not with_grad:
            return objective(meta, params, seed), None
        with tf.GradientTape() as tape:
            tape.watch(meta)
            value = objective(meta, params, seed)
        return value, tape.gradient(value, meta)

    return run


def measure(runs, starts, meta, seeds, with_grad=False):
    """Mean objective over tasks and seeds (with `with_grad` also the gradient summed over
    the runs whose gradient is finite, and the runs left out for not being so)."""
    values, total, left_out = [], None, []
    for name, run in runs.items():
        for seed in seeds:
            value, grads = run(meta, starts[name][seed], tf.constant(seed, tf.int64), with_grad)
            values.append(float(value))
            if with_grad:
                grads = {k: g.numpy() for k, g in grads.items()}
                if not all(np.all(np.isfinite(g)) for g in grads.values()):
                    left_out.append([name, seed])
                    continue
                total = grads if total is None else {k: total[k] + grads[k] for k in total}
    values = np.array(values)
    value = float(np.mean(values)) if np.all(np.isfinite(values)) else float("inf")
    return (value, total, left_out) if with_grad else value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="general-v6")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--other-seeds", type=int, default=None,
                        help="seeds per task to check moves on (default: --seeds)")
    parser.add_argument("--etas", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3, 3e-3])
    parser.add_argument("--second-order", action="store_true")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--out", default="results/meta-gradient/line_search.json")
    args = parser.parse_args()
    began = time.process_time()
    trained = TrainedRule.from_preset(args.preset)
    meta = trained.meta_tensors()
    problems = {name: get_problem(name, default_data_dir()) for name in args.tasks}
    runs = {name: compile_run(trained.rule, p, args.steps, args.second_order)
            for name, p in problems.items()}
    train_seeds = [TRAIN_SEED_BASE + i for i in range(args.seeds)]
    other_seeds = [OTHER_SEED_BASE + i for i in range(args.other_seeds or args.seeds)]
    starts = {
        name: {s: flat.flatten(p.init_params(s)) for s in train_seeds + other_seeds}
        for name, p in problems.items()
    }
    # The gradient's graph orders float operations differently (J differs by up to 1e-3):
    # every J compared below comes from the forward-only graph.
    _, grad, left_out = measure(runs, starts, meta, train_seeds, with_grad=True)
    j_train, j_other = (measure(runs, starts, meta, seeds) for seeds in (train_seeds, other_seeds))
    print(f"start: J train {j_train:.4f}, other {j_other:.4f}; gradient left out of runs "
          f"{left_out} (not finite)", flush=True)
    rng = np.random.default_rng(0)
    directions = {
        "sign": {k: np.sign(g) for k, g in grad.items()},
        "random sign (control)": {k: rng.choice([-1.0, 1.0], g.shape) for k, g in grad.items()},
        "per-tensor rms": {
            k: g / max(float(np.sqrt(np.mean(g**2))), 1e-30) for k, g in grad.items()
        },
    }
    rows = []
    for direction, d in directions.items():
        for eta in args.etas:
            moved = {k: tf.constant(meta[k].numpy() - eta * d[k], tf.float32) for k in meta}
            row = {
                "direction": direction, "eta": eta,
                "train": measure(runs, starts, moved, train_seeds),
                "other": measure(runs, starts, moved, other_seeds),
            }
            rows.append(row)
            print(f"{direction} eta {eta:g}: J train {row['train'] - j_train:+.4f}, "
                  f"other {row['other'] - j_other:+.4f}", flush=True)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grad.values())))
    record = {
        "command": "python results/meta-gradient/line_search.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if k not in ("etas", "tasks", "second_order") and v is not None)
        + " --second-order" * args.second_order
        + " --etas " + " ".join(f"{eta:g}" for eta in args.etas),
        "git": git, "preset": args.preset, "steps": args.steps, "tasks": args.tasks,
        "train_seeds": train_seeds, "other_seeds": other_seeds,
        "start": {"train": j_train, "other": j_other}, "gradient_norm": norm,
        "gradient_left_out": left_out, "moves": rows,
        "cpu_hours": (time.process_time() - began) / 3600,
    }
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
