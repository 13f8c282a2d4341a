"""Shared pytest fixtures for keras_l2l."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir():
    """The offline copy of the real datasets (see ../shared/data/README.md)."""
    env = os.environ.get("KERAS_L2L_DATA_DIR")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"real data directory {path} not found; set KERAS_L2L_DATA_DIR")
    return path
