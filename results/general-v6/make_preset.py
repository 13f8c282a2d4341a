"""Build the preset `general-v6`: `general-v4` whose step sizes a hypergradient can raise.

    python results/general-v6/make_preset.py   # writes keras_l2l/presets/general-v6

No meta-training: `step_adaptation=0.05, step_adaptation_floor=1` (HierarchicalLSTM)
moves each variable's log step size by 0.05 times the cosine of its gradient with its
previous momentum, between 0 and 2: the rule's steps can grow up to exp(2)x, never
shrink below general-v4's. `general-v5` is the same without the floor. Both settings
were chosen on training problems of the meta-training, never on the held-out suite
(results/step-adaptation/README.md).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from derived_preset import save_derived_preset  # noqa: E402

CHANGES = {"step_adaptation": 0.05, "step_adaptation_floor": 1.0}


def main():
    save_derived_preset(
        "general-v4", "general-v6", CHANGES,
        command="python results/general-v6/make_preset.py",
        description="HierarchicalLSTM: general-v4's weights and schedule; each variable's log "
                    "step size also rises by 0.05 times the cosine of its gradient with its "
                    "previous momentum while that is positive, falls back while negative, "
                    "never below general-v4's step and at most exp(2) above it",
        headline="No learning rate to tune. Held-out suite (11 unseen Keras tasks, 10 seeds, "
                 "no run diverged): 1.009x tuned Adam and NAG given the same schedule at "
                 "1,000 steps (general-v4 1.226x); against constant-rate tuned baselines "
                 "1.052x at 200 steps and 0.704x at 1,000 (general-v4 1.157x, 0.855x); "
                 "MNIST MLPs at 10,000 steps below tailed Adam on every seed (sigmoid "
                 "0.86x, ReLU 0.79x); step_adaptation and its floor chosen on training "
                 "problems (results/step-adaptation, results/suite-tail-v6, "
                 "results/suite-full-v6, results/general-v6)",
        cpu_hours_how=lambda how: how,
    )


if __name__ == "__main__":
    main()
