"""The documentation site: every page in the nav exists, and a strict build succeeds (broken
links, missing pages and unresolved API references fail it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
GUIDES = ("layers", "training", "data", "explain", "cli", "web", "export", "distributed")


def nav_pages(entries: list[object]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(nav_pages(value) if isinstance(value, list) else [str(value)])
    return pages


def load_config() -> dict[str, object]:
    # mkdocs.yml is plain YAML (no !!python tags), so the safe loader reads it.
    return yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))


def test_nav_lists_a_guide_per_area_and_the_reference() -> None:
    pages = nav_pages(load_config()["nav"])  # type: ignore[arg-type]
    for name in ("index", "getting-started", "notebooks", *GUIDES):
        assert f"{name}.md" in pages
    assert any(page.startswith("reference/") for page in pages)
    missing = [page for page in pages if not (DOCS / page).is_file()]
    assert not missing, f"pages in mkdocs.yml's nav but not in docs/: {missing}"


def test_notebooks_page_lists_every_notebook() -> None:
    listed = set(re.findall(r"examples/([\w-]+\.ipynb)", (DOCS / "notebooks.md").read_text(encoding="utf-8")))
    assert listed == {path.name for path in (REPO / "examples").glob("[0-9]*.ipynb")}


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "reference" / "layers" / "index.html").is_file()
    assert "convscope.layers.Conv2D" in (tmp_path / "site" / "reference" / "layers" / "index.html").read_text()
