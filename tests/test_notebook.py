"""The notebooks execute top to bottom (offline, small settings) and show what they claim.

Each notebook reads its settings from environment variables whose defaults are the
real sizes; here they are set small. The kernel inherits the environment.
"""

import json
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).parents[1]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK = NOTEBOOKS / "quickstart.ipynb"


def execute(name, tmp_path):
    """The executed notebook `notebooks/<name>`, run with `tmp_path` as its working directory."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return notebook


def text_of(notebook):
    return "".join(
        out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def images_of(notebook):
    return [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]


def test_quickstart_notebook_runs(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_L2L_DATA_DIR", str(data_dir))
    monkeypatch.setenv("QUICKSTART_STEPS", "20")
    notebook = execute("quickstart.ipynb", tmp_path)
    outputs = text_of(notebook)
    assert "learned (preset mnist)" in outputs and "test accuracy" in outputs
    assert images_of(notebook), "the plot cell produced no image"


TRAIN_YOUR_OWN_SMALL = {
    "EXAMPLES": "2000", "CURRICULUM": "20,40", "EPOCHS": "2", "VALIDATION_RUNS": "2",
    "STEPS": "40", "SEEDS": "2", "TUNING_SEEDS": "1", "GRID": "coarse",
}


def test_train_your_own_notebook_meta_trains_saves_and_compares(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_L2L_DATA_DIR", str(data_dir))
    for key, value in TRAIN_YOUR_OWN_SMALL.items():
        monkeypatch.setenv(f"TRAIN_YOUR_OWN_{key}", value)
    work = tmp_path / "weekly"
    monkeypatch.setenv("TRAIN_YOUR_OWN_WORK", str(work))
    outputs = text_of(execute("train_your_own.ipynb", tmp_path))

    # Both curriculum stages ran, and each kept its best validated rule (never worse than its start).
    stages = re.findall(r"stage (\d), horizon (\d+): .*?validation loss ([\d.]+) -> best ([\d.]+)", outputs)
    assert [(s, h) for s, h, _, _ in stages] == [("0", "20"), ("1", "40")], outputs
    assert all(float(best) <= float(start) for _, _, start, best in stages)

    # The exported preset is complete and loads; the model trained with it in model.fit learned
    # (cross-entropy from ~ln 10 = 2.30 at initialization down to below 1).
    import keras_l2l

    assert sorted(p.name for p in (work / "preset").iterdir()) == [
        "config.json", "provenance.json", "weights.npz"]
    trained = keras_l2l.TrainedRule.from_preset(str(work / "preset"))
    assert type(trained.rule).__name__ == "HierarchicalLSTM"
    assert trained.provenance["curriculum"] == [20, 40]
    fit_loss = float(re.search(r"model.fit with the new preset, 40 steps: training loss ([\d.]+)",
                               outputs).group(1))
    assert fit_loss < 1.0

    # The comparison table has the three optimizers, with finite losses and Adam's tuned rate.
    for row in ("fine-tuned (this notebook)", "general preset (the start)", "Adam, tuned lr"):
        line = next((l for l in outputs.splitlines() if l.startswith(row)), None)
        assert line is not None, f"no table row {row!r} in:\n{outputs}"
        assert 0 < float(line[28:].split()[0]) < 2.3, line
    assert "ratio of means to Adam, paired bootstrap 95% CI" in outputs
    assert (work / "comparison.png").stat().st_size > 10_000


def test_paper_figures_notebook_plots_the_committed_results(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPER_FIGURES_RESULTS", str(ROOT / "results"))
    notebook = execute("paper_figures.ipynb", tmp_path)
    outputs = text_of(notebook)
    assert len(images_of(notebook)) >= 4  # figure 4, figure 5, long runs, final-loss ratios
    for name in ("quadratic-100", "mnist-100", "mnist-200", "mnist-40-100", "mnist-2layer-100",
                 "mnist-relu-100"):
        assert f"{name}: 20 seeds" in outputs, name
    cifar = [p for p in (ROOT / "results").glob("*/results.json")
             if json.loads(p.read_text()).get("problem", "").startswith("cifar")]
    if not cifar:  # the notebook says so plainly instead of drawing a CIFAR figure
        assert "The CIFAR-10 experiment of the paper is not in results/ yet" in outputs
    table = outputs[outputs.index("geo. mean ratio [95% CI]"):]
    assert re.search(r"quadratic-100 +\w+ +20 +[\d.]+ \[[\d.]+, [\d.]+\]", table), table
