"""The quickstart notebook executes top to bottom (offline, small settings)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_runs(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_L2L_DATA_DIR", str(data_dir))
    monkeypatch.setenv("QUICKSTART_STEPS", "20")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(
        out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "learned (preset mnist)" in outputs and "test accuracy" in outputs
    images = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the plot cell produced no image"
