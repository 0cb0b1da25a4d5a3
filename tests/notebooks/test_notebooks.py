"""Every notebook runs top to bottom on the published demo data (each checks its own numbers:
levels add up, the re-pricing method reproduces the pipeline's cost)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_the_three_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_cost_drilldown.ipynb",
        "02_forecast_and_anomalies.ipynb",
        "03_what_if_repricing.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, demo_pipeline):
    notebook = nbformat.read(path, as_version=4)
    with demo_pipeline.environment():  # the kernel inherits TOKENLAKE_HOME
        NotebookClient(
            notebook, timeout=300, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()  # fmt: skip
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no plot"
    assert str(demo_pipeline.published_duckdb) in "".join(o.get("text", "") for o in outputs)
