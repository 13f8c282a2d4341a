"""Build the preset `general-v5`: `general-v4` with a hypergradient step size per variable.

    python results/general-v5/make_preset.py   # writes keras_l2l/presets/general-v5

No meta-training: `step_adaptation=B` (HierarchicalLSTM) moves each variable's log step
size by B times the cosine of its gradient with its previous momentum, within exp(+-2).
B was chosen on training problems of the meta-training, never on the held-out suite
(results/step-adaptation/sweep_training_tasks.sh); what it measured: results/step-adaptation/README.md. Not the default: `general-v6`
adds a floor.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from derived_preset import save_derived_preset  # noqa: E402

STEP_ADAPTATION = {"step_adaptation": 0.05}


def main():
    save_derived_preset(
        "general-v4", "general-v5", STEP_ADAPTATION,
        command="python results/general-v5/make_preset.py",
        description="HierarchicalLSTM: general-v4's weights and schedule; each variable's log "
                    "step size also moves by 0.05 times the cosine of its gradient with its "
                    "previous momentum (hypergradient step-size adaptation), within exp(+-2)",
        headline="B = 0.05 chosen on 8 training problems at 1,000 steps against tuned Adam "
                 "with the same tail (results/step-adaptation): 1.023x (general-v4 1.120x). "
                 "Held-out suite, 10 seeds, no run diverged: 1.098x tuned Adam/NAG with the "
                 "same tail at 1,000 steps (general-v4 1.226x); constant-rate tuned "
                 "baselines 1.051x at 200 steps, 0.766x at 1,000 (general-v4 1.157x, "
                 "0.855x); it cuts step sizes where Adam wants larger ones (the two-input "
                 "model 1.80x, v4 1.22x): superseded by general-v6 (results/suite-tail-v5, "
                 "results/suite-full-v5)",
        cpu_hours_how=lambda how: how,
    )


if __name__ == "__main__":
    main()
