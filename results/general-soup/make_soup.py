"""Average the meta-weights of runs G and H (a "model soup"): python results/general-soup/make_soup.py

G and H continued the same start (`general-v1`) on the same tasks with the same recipe, for
50 and 40 meta-steps at meta-lr 3e-4, and ended at the same validation loss; averaging
weights fine-tuned from one start often lands lower than either. Writes
results/general-soup/preset; `validate.sh` compares it with G and H on the same runs.
"""

from pathlib import Path

import numpy as np

from keras_l2l import TrainedRule
from keras_l2l.presets import save_preset

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("results/general-g/preset", "results/general-h/preset")


def main():
    parts = [TrainedRule.from_preset(ROOT / part) for part in PARTS]
    configs = {str(part.rule_config()) for part in parts}
    if len(configs) != 1:
        raise SystemExit(f"The parts have different rules: {configs}")
    weights = {key: np.mean([part.meta_params[key] for part in parts], axis=0)
               for key in parts[0].meta_params}
    provenance = {
        "started_from": list(PARTS),
        "command": "python results/general-soup/make_soup.py",
        "description": "HierarchicalLSTM: the mean of runs G's and H's meta-weights",
        "cpu_hours": round(sum(part.provenance.get("cpu_hours_this_session", 0.0)
                               for part in parts) + 0.84, 3),
        "cpu_hours_how": "runs G's and H's meta-train processes plus general-v1's 0.84",
    }
    save_preset(ROOT / "results/general-soup/preset", TrainedRule(parts[0].rule, weights, provenance))
    print("Wrote results/general-soup/preset")


if __name__ == "__main__":
    main()
