"""`general-v6` as shipped and with its step adaptation frozen over its end-of-run tail,
held-out suite tasks, 5,000 steps, seeds 0-2:

    python results/step-adaptation/tail_freeze_5000.py [TASK ...]

A diagnosis, not a selection (these are held-out tasks): log_scales_5000.md shows the
hypergradient multipliers climbing to their cap exp(2) while the tail shrinks the steps
(small steps keep the gradient aligned with the momentum, so the multiplier keeps
rising), i.e. the adaptation undoing the schedule. Frozen: over the tail (where
`linear_tail` < 1) each variable keeps the multiplier it had when the tail began. The
variant is a patched copy of the rule in this script, not a package option. Markdown
on stdout: mean final eval_loss (the suite's loss on the full training data) per variant.
"""

import sys

from keras import ops

from keras_l2l import TrainedRule
from keras_l2l.evaluation.runs import final_losses
from keras_l2l.problems.registry import get_problem
from keras_l2l.rules.anneal import linear_tail

STEPS, SEEDS = 5000, (0, 1, 2)
DEFAULT_TASKS = ("fashion-two-input", "fashion-rows-lstm", "mnist-patch-transformer",
                 "cifar-resmlp-layernorm")


def freeze_in_tail(rule, mode="hold"):
    """Patch `rule` (a HierarchicalLSTM with step adaptation and a tail) so that, once the
    tail's factor falls below 1, its multipliers stop moving (`mode="hold"`) or can only
    fall (`mode="fall"`: a turning gradient still cuts the step, an aligned one no longer
    raises it)."""
    variable_step = rule.variable_step

    def limited(meta_params, sums, state):
        rows, new_state = variable_step(meta_params, sums, state)
        factor = linear_tail(state["step"] + 1.0, state["horizon"], rule.anneal_fraction,
                             rule.anneal_after)
        old, new = state["tensor_log_scale"], new_state["tensor_log_scale"]
        in_tail = old if mode == "hold" else ops.minimum(old, new)
        kept = ops.where(factor < 1.0, in_tail, new)
        rows = ops.concatenate([rows[:, :1] + (kept - new)[:, None], rows[:, 1:]], 1)
        return rows, dict(new_state, tensor_log_scale=kept)

    rule.variable_step = limited
    return rule


def main(tasks):
    print("| task | as shipped | frozen in the tail | frozen / shipped |")
    print("|---|---|---|---|")
    for task in tasks:
        problem = get_problem(f"suite/{task}")
        shipped = TrainedRule.from_preset("general-v6")
        patched = TrainedRule.from_preset("general-v6")
        a = final_losses(shipped.rule, shipped.meta_tensors(), problem, SEEDS, STEPS)
        b = final_losses(freeze_in_tail(patched.rule), patched.meta_tensors(), problem, SEEDS,
                         STEPS)
        print(f"| {task} | {a.mean():.4g} ({', '.join(f'{x:.3g}' for x in a)}) | "
              f"{b.mean():.4g} ({', '.join(f'{x:.3g}' for x in b)}) | {b.mean() / a.mean():.3f} |",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT_TASKS)
