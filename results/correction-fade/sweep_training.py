"""`general-v6` with `correction_fade_after=A` against it as shipped, on training problems of
its meta-training (the ones results/step-adaptation chose its step adaptation on):

    python results/correction-fade/sweep_training.py --steps 5000 --fade 200,1000 \\
        --out results/correction-fade/training.jsonl [PROBLEM ...]

Chosen here, never on the held-out suite. Appends one JSON line per (problem, steps, A)
to --out (A = 0: as shipped), skipping lines already there, so a stopped sweep resumes and
two processes can split the problems; then prints, from every line in --out, a Markdown
table of mean final eval_loss over A = 0's per problem and horizon, with geometric means.
"""

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

from keras_l2l import TrainedRule
from keras_l2l.datasets import default_data_dir
from keras_l2l.evaluation.runs import final_losses
from keras_l2l.problems.registry import get_problem

PROBLEMS = ("mnist", "mlp/cifar10/32/relu/b128", "family/rnn/25500", "family/regression/34030",
            "family/conv/20719", "family/autoencoder/51675", "family/logreg/63419",
            "family/mlp/47832")
SEEDS = (0, 1, 2)


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run(problems, steps, fades, out):
    done = {(r["problem"], r["steps"], r["fade"]) for r in read(out)}
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    for name in problems:
        problem = get_problem(name, default_data_dir())
        for fade in (0, *fades):
            if (name, steps, fade) in done:
                continue
            trained = TrainedRule.from_preset("general-v6")
            trained = trained.reconfigured(correction_fade_after=fade) if fade else trained
            finals = final_losses(trained.rule, trained.meta_tensors(), problem, SEEDS, steps)
            with out.open("a") as f:
                f.write(json.dumps({"problem": name, "steps": steps, "fade": fade,
                                    "seeds": list(SEEDS), "finals": finals.tolist(),
                                    "git": git}) + "\n")
            print(f"{name} {steps} A={fade}: {finals}", flush=True)


def table(out):
    rows = {}
    for r in read(out):
        rows.setdefault(r["steps"], {}).setdefault(r["problem"], {})[r["fade"]] = np.mean(r["finals"])
    for steps, problems in sorted(rows.items()):
        fades = sorted({a for by_fade in problems.values() for a in by_fade} - {0})
        print(f"\n{steps:,} steps: mean final eval_loss over seeds {list(SEEDS)}, "
              "as shipped, and each variant's over it\n")
        print("| problem | as shipped | " + " | ".join(f"A = {a}" for a in fades) + " |")
        print("|---|---|" + "---|" * len(fades))
        logs = {a: [] for a in fades}
        for name, by_fade in problems.items():
            cells = []
            for a in fades:
                ratio = by_fade.get(a, np.nan) / by_fade.get(0, np.nan)
                cells.append(f"{ratio:.3f}")
                logs[a].append(np.log(ratio))
            print(f"| {name} | {by_fade.get(0, np.nan):.4g} | " + " | ".join(cells) + " |")
        print("| geometric mean | | " + " | ".join(
            f"**{np.exp(np.mean(logs[a])):.3f}**" for a in fades) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="run this horizon (else: table only)")
    parser.add_argument("--fade", default="200,1000", help="values of A, comma-separated")
    parser.add_argument("--out", type=Path, default=Path("results/correction-fade/training.jsonl"))
    parser.add_argument("problems", nargs="*", default=PROBLEMS)
    args = parser.parse_args()
    if args.steps:
        run(args.problems, args.steps, [int(a) for a in args.fade.split(",")], args.out)
    table(args.out)


if __name__ == "__main__":
    main()
