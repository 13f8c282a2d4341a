"""`general-v6` with changes to its direction correction against it as shipped, on training
problems of its meta-training (the ones results/step-adaptation chose its step adaptation on):

    python results/correction-fade/sweep_training.py --steps 5000 \\
        --changes '{"correction_fade_after": 200}' '{"correction_centered": true}' \\
        --out results/correction-fade/training.jsonl [--problems PROBLEM ... | run-c]

A variant's JSON may name another start, '{"preset": "results/general-p/preset"}', with
or without changes to its rule, or a patch of the step adaptation that is not a rule
option: over the end-of-run tail, '{"tail_adaptation": "hold"}' or '"fall"'
(results/step-adaptation/tail_freeze_5000.py); its cap on the log multiplier,
'{"adapt_range": 3}' (`rules.hierarchical.ADAPT_RANGE`, 2 as shipped).

Chosen here, never on the held-out suite. Appends one JSON line per (problem, steps,
changes) to --out (no changes: as shipped), skipping lines already there, so a stopped
sweep resumes and two processes can split the problems; then prints, from every line in
--out, a Markdown table of each variant's mean final eval_loss over the shipped rule's,
per problem and horizon, with geometric means.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from keras_l2l import TrainedRule
from keras_l2l.datasets import default_data_dir
from keras_l2l.evaluation.runs import final_losses
from keras_l2l.problems.registry import get_problem
from keras_l2l.rules import hierarchical

RESULTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(RESULTS / "step-adaptation"), str(RESULTS / "meta-gradient")]
from line_search import TASKS as RUN_C_TASKS  # noqa: E402
from tail_freeze_5000 import freeze_in_tail  # noqa: E402

PROBLEMS = ("mnist", "mlp/cifar10/32/relu/b128", "family/rnn/25500", "family/regression/34030",
            "family/conv/20719", "family/autoencoder/51675", "family/logreg/63419",
            "family/mlp/47832")
SEEDS = (0, 1, 2)
SHIPPED_ADAPT_RANGE = hierarchical.ADAPT_RANGE


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def label(changes):
    return json.dumps(changes, sort_keys=True)


def run(problems, steps, variants, out):
    done = {(r["problem"], r["steps"], label(r["changes"])) for r in read(out)}
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    for name in problems:
        problem = get_problem(name, default_data_dir())
        for changes in ({}, *variants):
            if (name, steps, label(changes)) in done:
                continue
            rule_changes = {k: v for k, v in changes.items()
                            if k not in ("preset", "tail_adaptation", "adapt_range")}
            trained = TrainedRule.from_preset(changes.get("preset", "general-v6"))
            trained = trained.reconfigured(**rule_changes) if rule_changes else trained
            if "tail_adaptation" in changes:
                freeze_in_tail(trained.rule, changes["tail_adaptation"])
            hierarchical.ADAPT_RANGE = changes.get("adapt_range", SHIPPED_ADAPT_RANGE)
            try:  # read when the rollout is traced, inside final_losses
                finals = final_losses(trained.rule, trained.meta_tensors(), problem, SEEDS, steps)
            finally:
                hierarchical.ADAPT_RANGE = SHIPPED_ADAPT_RANGE
            with out.open("a") as f:
                f.write(json.dumps({"problem": name, "steps": steps, "changes": changes,
                                    "seeds": list(SEEDS), "finals": finals.tolist(),
                                    "git": git}) + "\n")
            print(f"{name} {steps} {label(changes)}: {finals}", flush=True)


def table(out):
    rows = {}
    for r in read(out):
        by_variant = rows.setdefault(r["steps"], {}).setdefault(r["problem"], {})
        by_variant[label(r["changes"])] = np.mean(r["finals"])
    shipped = label({})
    for steps, problems in sorted(rows.items()):
        variants = sorted({v for by_variant in problems.values() for v in by_variant} - {shipped})
        print(f"\n{steps:,} steps: mean final eval_loss over seeds {list(SEEDS)}, "
              "as shipped, and each variant's over it\n")
        print("| problem | as shipped | " + " | ".join(f"`{v}`" for v in variants) + " |")
        print("|---|---|" + "---|" * len(variants))
        logs = {v: [] for v in variants}
        for name, by_variant in problems.items():
            cells = []
            for v in variants:
                if v not in by_variant or shipped not in by_variant:
                    cells.append("")
                    continue
                ratio = by_variant[v] / by_variant[shipped]
                cells.append(f"{ratio:.3f}")
                logs[v].append(np.log(ratio))
            print(f"| {name} | {by_variant.get(shipped, np.nan):.4g} | " + " | ".join(cells) + " |")
        print("| geometric mean (problems) | | " + " | ".join(
            f"**{np.exp(np.mean(logs[v])):.3f}** ({len(logs[v])})" for v in variants) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="run this horizon (else: table only)")
    parser.add_argument("--changes", nargs="*", type=json.loads, default=[],
                        help="rule settings to change, one JSON object per variant")
    parser.add_argument("--out", type=Path, default=Path("results/correction-fade/training.jsonl"))
    parser.add_argument("--problems", nargs="*", default=PROBLEMS,
                        help="problem names, or run-c: all 24 of run C's meta-training tasks")
    args = parser.parse_args()
    if args.problems == ["run-c"]:
        args.problems = RUN_C_TASKS
    if args.steps:
        run(args.problems, args.steps, args.changes, args.out)
    table(args.out)


if __name__ == "__main__":
    main()
