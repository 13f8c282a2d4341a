"""Build the preset `general-v3`: `general-v2`'s weights with `correction_gate_rms=0.1`.

    python results/general-v3/make_preset.py   # writes keras_l2l/presets/general-v3

No meta-training: the gate is a fixed function of what the rule already reads (each
variable's direction correction times min(1, RMS(m / sqrt(v)) / 0.1)), so the preset costs
what `general-v2` cost. Why and what it measured: results/general-v3/README.md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from derived_preset import save_derived_preset  # noqa: E402

GATE = 0.1


def main():
    save_derived_preset(
        "general-v2", "general-v3", {"correction_gate_rms": GATE},
        command="python results/general-v3/make_preset.py",
        description="HierarchicalLSTM: general-v2's weights with its direction correction gated "
                    f"per variable by min(1, RMS(m / sqrt(v)) / {GATE}), so the correction fades "
                    "where momentum has averaged the gradient noise away (long runs)",
        headline="No learning rate to tune. Held-out suite (11 unseen Keras tasks, 10 seeds, "
                 "general-v2's tuned baselines): 1.155x the best tuned baseline at 200 steps "
                 "and 1.10x at 1,000 (general-v2: 1.16x, 1.21x), no run diverged; at 5,000 "
                 "steps, on the 10 tasks finished, 1.68x (general-v2 3.25x, geometric means); "
                 "MNIST MLP at 10,000 steps 0.90x (sigmoid) and 0.73x (ReLU) tuned Adam "
                 "(results/suite-full-v3, results/general-v3)",
        cpu_hours_how=lambda how: "no meta-training of its own: general-v2's weights (" + how + ")",
    )


if __name__ == "__main__":
    main()
