"""Build the preset `general-v4`: `general-v3`'s weights, annealed past its meta-training horizon.

    python results/general-v4/make_preset.py   # writes keras_l2l/presets/general-v4

No meta-training: `anneal_fraction=0.5, anneal_after=200` is a fixed schedule on the
learned steps. In a run of known length T > 200 (always in `keras-l2l evaluate`; in `fit`
with the `TrainingLength` callback or `total_steps=`) every step size falls linearly to 0
over the last half of the run, never starting before step 200, the meta-training
horizon; runs of at most 200 steps, and runs of unknown length, are `general-v3`'s.
Why and what it measured: results/general-v3/anneal.md, results/suite-full-v4.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from derived_preset import save_derived_preset  # noqa: E402

ANNEAL = {"anneal_fraction": 0.5, "anneal_after": 200}


def main():
    save_derived_preset(
        "general-v3", "general-v4", ANNEAL,
        command="python results/general-v4/make_preset.py",
        description="HierarchicalLSTM: general-v3's weights; in runs of known length T > 200 "
                    "every step size falls linearly to 0 over the last half of the run, never "
                    "before step 200 (the meta-training horizon)",
        headline="No learning rate to tune. Held-out suite (11 unseen Keras tasks, 10 seeds, "
                 "general-v2's constant-rate tuned baselines): 1.157x the best tuned baseline "
                 "at 200 steps, 0.855x at 1,000 and 1.19x at 5,000, no run "
                 "diverged; against Adam and NAG given the same end-of-run schedule, 1.23x at "
                 "1,000 steps; MNIST MLP at 10,000 steps 1.00x (sigmoid) and 0.72x (ReLU) "
                 "Adam with the same schedule (results/suite-full-v4, results/suite-tail-v4, "
                 "results/general-v4)",
        cpu_hours_how=lambda how: "no meta-training of its own: general-v3's weights, which "
                                  "are general-v2's (" + how.split("(", 1)[1],
    )


if __name__ == "__main__":
    main()
