"""`general-v4` at 1,000 steps against the best tuned baseline, with and without the tail.

    python results/suite-tail-v4/compare.py

Reads results/suite-full-v4/<task>/1000 (Adam, AdamW, NAG, RMSprop at constant tuned rates)
and results/suite-tail-v4/<task>/1000 (Adam and NAG with `--baselines-anneal 0.5`: the
rate falls linearly to 0 over the run's last half, as `general-v4`'s steps do, tuned as
such). Per task: the learned rule's mean final loss over each set's best, the ratio to the
best of all six, and what the tail does for tuned Adam and NAG themselves. Ratio CIs:
paired bootstrap over the 10 seeds (`keras_l2l.evaluation.stats`). Checks first that both
runs hold the same learned runs (same per-seed final losses).
"""

import json
import math
from pathlib import Path

import numpy as np

from keras_l2l.evaluation import stats
from keras_l2l.evaluation.evaluate import per_seed_finals

ROOT = Path(__file__).resolve().parents[1]
STEPS = "1000"


def load(run, task):
    return json.loads((ROOT / run / task / STEPS / "results.json").read_text())


def best(optimizers):
    """`(name, per-seed finals)` of the baseline with the lowest mean final loss."""
    name = min((n for n in optimizers if n != "learned"),
               key=lambda n: np.mean(per_seed_finals(optimizers[n])))
    return name, per_seed_finals(optimizers[name])


def cell(learned, baseline):
    mean, lo, hi = stats.bootstrap_ratio(learned, baseline)
    return f"{mean:.3g} [{lo:.3g}, {hi:.3g}]", mean


def main():
    tasks = sorted(p.parts[-2] for p in (ROOT / "suite-tail-v4").glob(f"*/{STEPS}"))
    rows, logs = [], {"constant": [], "tailed": [], "all": []}
    for task in tasks:
        constant, tailed = load("suite-full-v4", task), load("suite-tail-v4", task)
        learned = per_seed_finals(constant["optimizers"]["learned"])
        again = per_seed_finals(tailed["optimizers"]["learned"])
        if not np.array_equal(learned, again):
            raise SystemExit(f"{task}: the two runs' learned finals differ: {learned} vs {again}")
        (c_name, c_finals), (t_name, t_finals) = best(constant["optimizers"]), best(tailed["optimizers"])
        c_text, c_mean = cell(learned, c_finals)
        t_text, t_mean = cell(learned, t_finals)
        overall = c_finals if c_finals.mean() <= t_finals.mean() else t_finals
        a_text, a_mean = cell(learned, overall)
        gains = []
        for name in ("adam", "nag"):
            gain, lo, hi = stats.bootstrap_ratio(per_seed_finals(tailed["optimizers"][name]),
                                                 per_seed_finals(constant["optimizers"][name]))
            gains.append(f"{gain:.3g} [{lo:.3g}, {hi:.3g}]")
        rows.append(f"| {task} | {c_text} ({c_name}) | {t_text} ({t_name}+tail) | {a_text} "
                    f"| {gains[0]} | {gains[1]} |")
        for key, value in (("constant", c_mean), ("tailed", t_mean), ("all", a_mean)):
            logs[key].append(math.log(value))
    print("| task | v4 / best constant-rate | v4 / best tailed (Adam, NAG) | v4 / best of all "
          "| tailed / constant Adam | tailed / constant NAG |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    geo = {key: math.exp(np.mean(values)) for key, values in logs.items()}
    print(f"| **geometric mean** ({len(tasks)} tasks) | **{geo['constant']:.3g}** | "
          f"**{geo['tailed']:.3g}** | **{geo['all']:.3g}** | | |")


if __name__ == "__main__":
    main()
