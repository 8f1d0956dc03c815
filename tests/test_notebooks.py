"""The example notebooks: committed without outputs, in sync with their sources, and runnable
top to bottom in a fresh kernel without network access."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("[0-9]*.ipynb"))
CELL_TIMEOUT_S = 300


def test_every_source_has_a_committed_notebook() -> None:
    sources = {path.stem for path in (EXAMPLES / "notebooks").glob("[0-9]*.py")}
    assert sources and sources == {path.stem for path in NOTEBOOKS}
    result = subprocess.run([sys.executable, str(EXAMPLES / "build_notebooks.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_saved_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: clear the outputs"


def execute(path: Path, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `path` in a fresh kernel inside `tmp_path`; raises CellExecutionError at the first
    failing cell. The kernel inherits this process's environment, set here."""
    from nbclient import NotebookClient

    monkeypatch.delenv("MPLBACKEND", raising=False)  # the notebooks draw inline, not into Agg
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CONVSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    # CI shares its cores among parallel test workers; oversubscribed intra-op threads make
    # small convolutions many times slower than a single thread.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(path, as_version=4)
    work = tmp_path / "work"
    work.mkdir()
    NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    return notebook


def outputs(notebook: Any, mime: str) -> list[str]:
    return [output["data"][mime] for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs if mime in output.get("data", {})]


def check_notebook_display(notebook: Any) -> None:
    """Models and histories render as HTML tables, plots inline, and training stays short."""
    html = outputs(notebook, "text/html")
    assert any(text.startswith('<b>Model: "sequential"</b><table>') for text in html)
    assert any("<th>val_accuracy</th>" in text for text in html)  # the History
    assert len(outputs(notebook, "image/png")) >= 5
    training = next(cell for cell in notebook.cells if "model.fit(" in cell.source)
    # one progress display per epoch, redrawn in place and left as the epoch's line
    assert [output["data"]["text/plain"].split(" - ")[0] for output in training.outputs] == \
        ["Epoch 1/2", "Epoch 2/2"]


EXTRA_CHECKS: dict[str, Callable[[Any], None]] = {"02_mnist_end_to_end": check_notebook_display}
NEEDS_MNIST = ("02_mnist_end_to_end", "06_from_keras")
NEEDS_FASHION = ("03_fashion_mnist_explained",)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, request: pytest.FixtureRequest,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = request.getfixturevalue("shared_data_dir") if path.stem in NEEDS_MNIST else tmp_path
    if path.stem in NEEDS_FASHION:
        request.getfixturevalue("fashion_dir")
    notebook = execute(path, tmp_path, data_dir, monkeypatch)
    EXTRA_CHECKS.get(path.stem, lambda _: None)(notebook)
