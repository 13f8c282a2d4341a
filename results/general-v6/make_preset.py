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
        headline="Chosen on 8 training problems at 1,000 steps against tuned Adam with the "
                 "same tail (results/step-adaptation): geometric mean 0.987x (general-v4 "
                 "1.120x, general-v5 1.023x); held-out suite: results/suite-tail-v6, "
                 "results/suite-full-v6",
        cpu_hours_how=lambda how: how,
    )


if __name__ == "__main__":
    main()
