"""Run examples/benchmark_demo.ipynb headless against a real server."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "examples" / "benchmark_demo.ipynb"
# Small runs keep the suite short; they replace the notebook's parameters cell
# the way papermill does, by a cell placed right after it. One round: every
# round costs two more workers, and the interval is tested with the client's.
SMALL_RUN = "WARMUP = 2\nITERATIONS = 10\nROUNDS = 1"
CELL_TIMEOUT = 180  # seconds; the benchmark cell runs two real workers

pytestmark = pytest.mark.e2e


def read_notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def with_small_run(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Insert the small-run settings after the cell tagged "parameters"."""
    for index, cell in enumerate(notebook.cells):
        if "parameters" in cell.metadata.get("tags", []):
            override = nbformat.v4.new_code_cell(SMALL_RUN)
            override["id"] = "test-parameters"
            notebook.cells.insert(index + 1, override)

            return notebook

    raise AssertionError(f"{NOTEBOOK.name} has no cell tagged 'parameters'.")


def cell_text(cell: nbformat.NotebookNode) -> str:
    """Return what a code cell printed or displayed as text."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))

    return "".join(parts)


def test_the_committed_notebook_has_no_outputs():
    notebook = read_notebook()

    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id


def test_the_notebook_benchmarks_the_demo_pair(live_server, tiny_models, monkeypatch):
    monkeypatch.setenv("LPOT_UX_URL", live_server.url)
    monkeypatch.setenv("LPOT_UX_TOKEN", live_server.token)
    monkeypatch.setenv("LPOT_UX_FP32", str(tiny_models["fp32"]))
    monkeypatch.setenv("LPOT_UX_INT8", str(tiny_models["int8"]))
    notebook = with_small_run(read_notebook())
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parents[1])}},
    )

    client.execute()

    cells = {cell.id: cell for cell in notebook.cells}
    table = cell_text(cells["table"])
    assert "Benchmark bench-" in table
    assert "x as fast as the input model (one round, so no interval)." in table
    assert "p99 (ms)" in table and "Verdict: " in table
    assert str(tiny_models["int8"]) in cell_text(cells["record"])
    assert "LPOT_UX_CORES=" in cell_text(cells["record"])
    verdict = cell_text(cells["verdict"])
    assert "speed-up: " in verdict
    assert "95% interval: none, from one round" in verdict
    assert "verdict: valid" in verdict or "verdict: INVALID" in verdict
