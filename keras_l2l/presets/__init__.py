"""Pretrained rules shipped in the wheel, and the preset directory format.

A preset is a directory with three files, none of which can run code:
- `config.json`: the rule, `{"class_name": ..., "config": {...}}` (presets from
  before rule families hold bare `CoordinatewiseLSTM` arguments, still read);
- `weights.npz`: the meta-parameters by name (read with `allow_pickle=False`);
- `provenance.json`: how it was made (the `keras-l2l meta-train` command,
  seed, epochs, best validation loss, package version, git hash), what it
  achieves, and the sha256 of `weights.npz`, checked on every load.
"""

import hashlib
import json
import os
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from keras_l2l.rules import deserialize_rule
from keras_l2l.trained_rule import TrainedRule

DEFAULT_PRESET = "general"
# A preset series' plain name and the version it stands for now: users write `general` and
# get the current default, while results made with an earlier version stay reproducible
# under that version's own name (`general-v1`).
ALIASES = {"general": "general-v6"}
FILES = ("config.json", "weights.npz", "provenance.json")
_DEBRIS = (".partial", ".previous")  # save_preset's working directories, never presets


class PresetError(ValueError):
    """A preset that is missing, corrupted or does not match its architecture."""


def _builtin_root():
    return resources.files("keras_l2l.presets")


def builtin_names():
    """Names of the presets shipped inside the package, aliases included."""
    directories = {
        entry.name
        for entry in _builtin_root().iterdir()
        if entry.is_dir()
        and entry.joinpath("config.json").is_file()
        and not entry.name.endswith(_DEBRIS)
    }
    return sorted(directories | {alias for alias, target in ALIASES.items() if target in directories})


def list_presets():
    """`{name: {description, architecture, problem, horizon, headline, alias_of}}` for shipped
    presets (`alias_of`: the versioned preset a plain name stands for, else None)."""
    listing = {}
    for name in builtin_names():
        directory = _builtin_root().joinpath(ALIASES.get(name, name))
        provenance = json.loads(directory.joinpath("provenance.json").read_text())
        listing[name] = {
            "alias_of": ALIASES.get(name),
            "description": provenance.get("description", ""),
            "architecture": _upgrade_config(
                json.loads(directory.joinpath("config.json").read_text())
            ),
            "problem": provenance.get("problem"),
            "horizon": provenance.get("horizon"),
            "headline": provenance.get("headline", ""),
        }
    return listing


def resolve(name_or_directory):
    """The directory of a shipped preset name, or of a preset directory path."""
    if str(name_or_directory) in builtin_names():
        name = ALIASES.get(str(name_or_directory), str(name_or_directory))
        with resources.as_file(_builtin_root().joinpath(name)) as path:
            return Path(path)
    path = Path(name_or_directory)
    if path.is_dir():
        return path
    previous = path.with_name(path.name + ".previous")
    if path.name and previous.is_dir():  # save_preset was killed between its two renames
        return previous
    raise PresetError(
        f"Unknown preset {str(name_or_directory)!r}: it is neither a shipped preset "
        f"(available: {', '.join(builtin_names()) or 'none'}) nor a directory "
        f"containing {', '.join(FILES)}."
    )


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_preset(name_or_directory):
    """The `TrainedRule` of a preset: a shipped name or a preset directory.

    Checks that all files exist, that the weights' sha256 matches the
    provenance and the file is a plain array archive, then builds the
    `TrainedRule`, which checks the config and every array's name, shape,
    dtype and finiteness. Any problem is a `PresetError` naming it.
    """
    directory = resolve(name_or_directory)
    missing = [f for f in FILES if not (directory / f).is_file()]
    if missing:
        raise PresetError(
            f"Preset {directory} is missing {', '.join(missing)}. Write presets with "
            "`keras_l2l.presets.save_preset(directory, trained_rule)`."
        )
    try:
        config = json.loads((directory / "config.json").read_text())
        provenance = json.loads((directory / "provenance.json").read_text())
        rule = deserialize_rule(_upgrade_config(config))
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        raise PresetError(f"Preset {directory} has an invalid config: {error}") from error
    expected_sha = provenance.get("weights_sha256")
    actual_sha = sha256(directory / "weights.npz")
    if expected_sha != actual_sha:
        raise PresetError(
            f"Preset {directory}: weights.npz has sha256 {actual_sha}, but "
            f"provenance.json records {expected_sha}; the file is corrupted or was "
            "replaced. Re-export the preset or restore the original file."
        )
    try:
        with np.load(directory / "weights.npz", allow_pickle=False) as archive:
            weights = {k: archive[k] for k in archive.files}
    except Exception as error:
        raise PresetError(f"Preset {directory}: cannot read weights.npz ({error}).") from error
    try:
        return TrainedRule(rule, weights, provenance, name=str(name_or_directory))
    except ValueError as error:
        raise PresetError(f"Preset {directory}: {error}") from error


def _upgrade_config(config):
    """Presets written before rule families existed hold bare `CoordinatewiseLSTM` arguments."""
    if isinstance(config, dict) and "class_name" not in config:
        return {"class_name": "CoordinatewiseLSTM", "config": config}
    return config


def save_preset(directory, trained_rule):
    """Write `trained_rule` as a preset; an interrupted write never clobbers the previous one.

    Files go to `<directory>.partial`, which then replaces `directory` by
    renames: at every moment a complete preset exists at `directory` or, in
    the instant between the two renames, at `<directory>.previous` (which
    `load_preset(directory)` then falls back to). A write that fails removes
    its `.partial` directory; neither working directory is listed as a preset.
    """
    if not isinstance(trained_rule, TrainedRule):
        raise TypeError(
            "save_preset(directory, trained_rule) takes a keras_l2l.TrainedRule "
            f"(e.g. optimizer.trained_rule()), got {type(trained_rule).__name__}."
        )
    directory = Path(directory)
    partial = directory.with_name(directory.name + ".partial")
    previous = directory.with_name(directory.name + ".previous")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        np.savez(partial / "weights.npz", **trained_rule.meta_params)
        provenance = dict(trained_rule.provenance, weights_sha256=sha256(partial / "weights.npz"))
        config = json.dumps(trained_rule.rule_config(), indent=2)
        (partial / "config.json").write_text(config + "\n")
        (partial / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
        for name in FILES:
            with open(partial / name, "rb") as handle:
                os.fsync(handle.fileno())
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    if directory.exists():
        directory.rename(previous)
    partial.rename(directory)
    shutil.rmtree(previous, ignore_errors=True)
    return directory
