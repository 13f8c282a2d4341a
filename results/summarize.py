"""Print the README's results table from results/*/results.json (python results/summarize.py)."""

import functools
import json
import math
from pathlib import Path

from keras_l2l import presets
from keras_l2l.evaluation.evaluate import learned_rule, weights_sha256

FIRST_ORDER = ("sgd", "momentum", "nag", "rmsprop", "adam")


def fmt(x):
    return "diverged" if x is None or not math.isfinite(x) else f"{x:.3g}"


@functools.cache
def versions():
    """`{(weights sha256, rule config JSON): name}` of the shipped versioned presets (aliases
    left out): two versions may share weights under different rule settings."""
    return {_identity(weights_sha256(trained), learned_rule(trained)): name
            for name in presets.builtin_names() if name not in presets.ALIASES
            for trained in [presets.load_preset(name)]}


def _identity(sha, rule):
    return sha, json.dumps(rule, sort_keys=True)


def preset_of(results):
    """The preset that made the results (`--optimizer`, or the demo's preset); where that is a
    plain name (`general`), the version whose weights made them, as it may now stand for another."""
    words = str(results.get("command", "")).split()
    name = words[words.index("--optimizer") + 1] if "--optimizer" in words else "?"
    name = results.get("learned_preset") or name
    if name in presets.ALIASES:
        identity = _identity(results.get("learned_weights_sha256"), results.get("learned_rule"))
        return versions().get(identity, name)
    return name


def row(directory):
    r = json.loads((directory / "results.json").read_text())
    opts = r["optimizers"]
    learned = opts["learned"]["final_loss"]
    adam = opts.get("adam", {}).get("final_loss")
    ratio = r.get("ratio_to_best_baseline") or {}
    lo, hi = ratio.get("ci95", [None, None])
    best = ratio.get("baseline", "-")
    per_seed = learned["per_seed"]
    wins = sum(
        1 for a, b in zip(per_seed, opts["adam"]["final_loss"]["per_seed"]) if a is not None and b is not None and a < b
    ) if adam else None
    verdict = "win" if hi is not None and hi < 1 else ("loss" if lo is not None and lo > 1 else "tie")
    mean_curve = sum(opts["learned"]["curve"]["mean"]) / len(opts["learned"]["curve"]["mean"])
    adam_curve = sum(opts["adam"]["curve"]["mean"]) / len(opts["adam"]["curve"]["mean"]) if adam else None
    anneal = r.get("tuning", {}).get("baselines_anneal")
    if anneal is not None:  # baselines given the learned rule's end-of-run schedule
        best = f"{best}+tail{anneal:g}"
    return (
        f"| [{directory.name}](results/{directory.name}/report.md) | `{preset_of(r)}` "
        f"| {r['steps']} | {len(r['seeds'])} | {fmt(learned['mean'])} | {fmt(adam['mean']) if adam else '-'} "
        f"| {best} {fmt(opts[ratio['baseline']]['final_loss']['mean']) if ratio.get('baseline') in opts else ''} "
        f"| {fmt(ratio.get('mean'))} [{fmt(lo)}, {fmt(hi)}] | {verdict} "
        f"| {wins if wins is not None else '-'}/{len(per_seed)} "
        f"| {fmt(mean_curve)} / {fmt(adam_curve) if adam_curve else '-'} |"
    )


def main():
    root = Path(__file__).parent
    print(
        "| evaluation | preset | steps | seeds | learned final loss | tuned Adam | best tuned baseline "
        "| learned / best [95% CI] | verdict | seeds where learned < Adam | mean loss over the run, learned / Adam |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in sorted(root.glob("*/results.json")):
        if "optimizers" in json.loads(path.read_text()):  # evaluate runs, not benchmarks
            print(row(path.parent))


if __name__ == "__main__":
    main()
