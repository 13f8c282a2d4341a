"""A preset made from another one's weights with a changed rule setting, no meta-training.

`general-v3` (a correction gate) and `general-v4` (an end-of-run schedule) are made this
way by their `make_preset.py`; the provenance carries the source's training record, so
its meta-training command and CPU-hours stay with the weights.
"""

from pathlib import Path

from keras_l2l import TrainedRule
from keras_l2l.meta.export import git_hash

PRESETS = Path(__file__).resolve().parents[1] / "keras_l2l" / "presets"


def save_derived_preset(source_name, name, changes, command, description, headline,
                        cpu_hours_how):
    """Write preset `name`: preset `source_name`'s weights, its rule reconfigured by `changes`."""
    source = TrainedRule.from_preset(source_name)
    record = dict(source.provenance)
    provenance = {
        "started_from": source_name,
        "changes": changes,
        "problems": record["problems"],
        "problem": record["problem"],
        "horizon": record["horizon"],
        "command": command,
        "git_hash": git_hash(),
        "cpu_hours": record["cpu_hours"],
        "cpu_hours_how": cpu_hours_how(record["cpu_hours_how"]),
        "description": description,
        "headline": headline,
    }
    trained = source.reconfigured(**changes).replace(provenance=provenance, name=name)
    trained.save_to_preset(PRESETS / name)
