"""`general-v2` without its per-parameter direction correction: python results/general-nod/make_preset.py

HierarchicalLSTM's update is -lr_j * clip(m_i / sqrt(v_i) + d_i) * exp(s_i), with d_i and s_i
from a per-parameter MLP that reads g_i / sqrt(v_i) and the momenta. Zeroing the MLP's d
outputs (column 0 of `param_out_kernel` and `param_out_bias`) leaves Adam's direction with the
learned per-variable step size and per-parameter scale: the same rule, other weights. Writes
results/general-nod/preset.
"""

from pathlib import Path

import numpy as np

from keras_l2l import TrainedRule
from keras_l2l.presets import save_preset

ROOT = Path(__file__).resolve().parents[2]


def main():
    start = TrainedRule.from_preset("general-v2")
    weights = {key: np.array(value) for key, value in start.meta_params.items()}
    weights["param_out_kernel"][:, 0] = 0.0
    weights["param_out_bias"][0] = 0.0
    provenance = {
        "started_from": "general-v2",
        "command": "python results/general-nod/make_preset.py",
        "description": "HierarchicalLSTM: general-v2 with the per-parameter direction correction "
                       "zeroed (Adam's direction, learned step sizes)",
        "cpu_hours": start.provenance.get("cpu_hours"),
        "cpu_hours_how": "general-v2's; zeroing weights costs nothing",
    }
    save_preset(ROOT / "results/general-nod/preset", TrainedRule(start.rule, weights, provenance))
    print("Wrote results/general-nod/preset")


if __name__ == "__main__":
    main()
