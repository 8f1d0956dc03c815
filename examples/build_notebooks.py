"""Write the example notebooks (examples/*.ipynb) from the cell sources in examples/notebooks/.

Each module in examples/notebooks/ defines `TITLE` and `CELLS`, a list of ("markdown" | "code",
source) pairs. The notebooks are saved without outputs; `tests/test_notebooks.py` runs them.

    python examples/build_notebooks.py          # rewrite every notebook
    python examples/build_notebooks.py --check  # exit 1 when a notebook is out of date
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "notebooks"


def load_cells(source: Path) -> list[tuple[str, str]]:
    spec = importlib.util.spec_from_file_location(source.stem, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.CELLS)


def build(source: Path) -> nbformat.NotebookNode:
    """A notebook with the Python 3 kernel and no outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, text) in enumerate(load_cells(source)):
        text = text.strip("\n")
        cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        cell.id = f"{source.stem.replace('_', '-')[:40]}-{index:02d}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("[0-9]*.py")):
        target = HERE / f"{source.stem}.ipynb"
        text = nbformat.writes(build(source)) + "\n"
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date (run python examples/build_notebooks.py):", ", ".join(stale))
        return 1
    for name in stale if not args.check else []:
        print("wrote", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
