"""summary.md: each art evaluation's final losses and learned / tuned Adam ratios.

Usage: python results/art/summary.py (after evaluate.sh). Final-loss ratio: mean over
seeds, paired bootstrap CI (`stats.bootstrap_ratio`, as results.json's ratio); at step 10
and over the run: the geometric mean over seeds of per-seed minibatch-loss ratios with its
log-space t-interval (`stats.paired_log_ratio`, as curves.png).
"""

import json
from pathlib import Path

import numpy as np

from keras_l2l.evaluation import stats

HERE = Path(__file__).parent


def ratio_cell(ratio, lo, hi):
    return f"{ratio:.3f} [{lo:.3f}, {hi:.3f}]"


def row(candidate, directory):
    results = json.loads((directory / "results.json").read_text())
    entries = results["optimizers"]
    finals = {name: np.array(entry["final_loss"]["per_seed"]) for name, entry in entries.items()}
    curves = {name: np.array(entry["curve"]["per_seed"]["values"]) for name, entry in entries.items()}
    step10 = stats.paired_log_ratio(curves["learned"][:, 10], curves["adam"][:, 10])
    whole = stats.paired_log_ratio(curves["learned"].mean(1), curves["adam"].mean(1))
    losses = " / ".join(f"{finals[n].mean():.4f}" for n in ("learned", "adam", "nag", "lbfgs"))
    rates = f"{entries['adam']['learning_rate']:g} / {entries['nag']['learning_rate']:g}"
    return (f"| `{results['problem']}` | {candidate} | {losses} | {rates} | "
            f"{ratio_cell(*stats.bootstrap_ratio(finals['learned'], finals['adam']))} | "
            f"{ratio_cell(*step10)} | {ratio_cell(*whole)} |")


def main():
    lines = [
        "| problem | learned | final loss: learned / Adam / NAG / L-BFGS | tuned rates Adam / NAG "
        "| final loss, learned / Adam [95% CI] | step 10, learned / Adam | mean over the run, "
        "learned / Adam |",
        "|---|---|---|---|---|---|---|",
    ]
    for candidate in ("lstm", "general"):
        for evaluation in ("128-hubble", "64-ihc"):
            directory = HERE / f"eval-{candidate}-{evaluation}"
            if (directory / "results.json").exists():
                lines.append(row(candidate, directory))
    text = "\n".join(lines) + "\n"
    (HERE / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
