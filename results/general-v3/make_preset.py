"""Build the preset `general-v3`: `general-v2`'s weights with `correction_gate_rms=0.1`.

    python results/general-v3/make_preset.py   # writes keras_l2l/presets/general-v3

No meta-training: the gate is a fixed function of what the rule already reads (each
variable's direction correction times min(1, RMS(m / sqrt(v)) / 0.1)), so the preset costs
what `general-v2` cost. Why and what it measured: results/general-v3/README.md.
"""

from pathlib import Path

from keras_l2l import TrainedRule
from keras_l2l.meta.export import git_hash

GATE = 0.1
ROOT = Path(__file__).resolve().parents[2]


def main():
    v2 = TrainedRule.from_preset("general-v2")
    source = dict(v2.provenance)
    provenance = {
        "started_from": "general-v2",
        "changes": {"correction_gate_rms": GATE},
        "problems": source["problems"],
        "problem": source["problem"],
        "horizon": source["horizon"],
        "command": "python results/general-v3/make_preset.py",
        "git_hash": git_hash(),
        "cpu_hours": source["cpu_hours"],
        "cpu_hours_how": "no meta-training of its own: general-v2's weights (" + source["cpu_hours_how"] + ")",
        "description": "HierarchicalLSTM: general-v2's weights with its direction correction gated "
                       f"per variable by min(1, RMS(m / sqrt(v)) / {GATE}), so the correction fades "
                       "where momentum has averaged the gradient noise away (long runs)",
        "headline": "No learning rate to tune. Held-out suite (11 unseen Keras tasks, 10 seeds, "
                    "general-v2's tuned baselines): 1.155x the best tuned baseline at 200 steps "
                    "and 1.10x at 1,000 (general-v2: 1.16x, 1.21x), no run diverged; at 5,000 "
                    "steps, on the 10 tasks finished, 1.68x (general-v2 3.25x, geometric means); "
                    "MNIST MLP at 10,000 steps 0.90x (sigmoid) and 0.73x (ReLU) tuned Adam "
                    "(results/suite-full-v3, results/general-v3)",
    }
    trained = v2.reconfigured(correction_gate_rms=GATE).replace(provenance=provenance, name="general-v3")
    trained.save_to_preset(ROOT / "keras_l2l" / "presets" / "general-v3")


if __name__ == "__main__":
    main()
