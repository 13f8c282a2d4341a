"""Build the preset `general-v4`: `general-v3`'s weights, annealed past its meta-training horizon.

    python results/general-v4/make_preset.py   # writes keras_l2l/presets/general-v4

No meta-training: `anneal_fraction=0.5, anneal_after=200` is a fixed schedule on the
learned steps. In a run of known length T > 200 (always in `keras-l2l evaluate`; in `fit`
with the `TrainingLength` callback or `total_steps=`) every step size falls linearly to 0
over the last half of the run, never starting before step 200, the meta-training
horizon; runs of at most 200 steps, and runs of unknown length, are `general-v3`'s.
Why and what it measured: results/general-v3/anneal.md, results/suite-full-v4.
"""

from pathlib import Path

from keras_l2l import TrainedRule
from keras_l2l.meta.export import git_hash

ANNEAL = {"anneal_fraction": 0.5, "anneal_after": 200}
ROOT = Path(__file__).resolve().parents[2]


def main():
    v3 = TrainedRule.from_preset("general-v3")
    source = dict(v3.provenance)
    provenance = {
        "started_from": "general-v3",
        "changes": ANNEAL,
        "problems": source["problems"],
        "problem": source["problem"],
        "horizon": source["horizon"],
        "command": "python results/general-v4/make_preset.py",
        "git_hash": git_hash(),
        "cpu_hours": source["cpu_hours"],
        "cpu_hours_how": "no meta-training of its own: general-v3's weights, which are "
                         "general-v2's (" + source["cpu_hours_how"].split("(", 1)[1],
        "description": "HierarchicalLSTM: general-v3's weights; in runs of known length T > 200 "
                       "every step size falls linearly to 0 over the last half of the run, never "
                       "before step 200 (the meta-training horizon)",
        "headline": "No learning rate to tune. Held-out suite (11 unseen Keras tasks, 10 seeds, "
                    "general-v2's constant-rate tuned baselines): 1.157x the best tuned baseline "
                    "at 200 steps, 0.855x at 1,000 and 1.19x at 5,000, no run "
                    "diverged; against Adam and NAG given the same end-of-run schedule, 1.23x at "
                    "1,000 steps; MNIST MLP at 10,000 steps 1.00x (sigmoid) and 0.72x (ReLU) "
                    "Adam with the same schedule (results/suite-full-v4, results/suite-tail-v4, "
                    "results/general-v4)",
    }
    trained = v3.reconfigured(**ANNEAL).replace(provenance=provenance, name="general-v4")
    trained.save_to_preset(ROOT / "keras_l2l" / "presets" / "general-v4")


if __name__ == "__main__":
    main()
