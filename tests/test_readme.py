"""The README's quickstart runs as written: the first ```python block under the "Quickstart"
heading is executed in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SHARED_DATA = Path(os.environ.get("CONVSCOPE_TEST_SHARED_DATA", REPO.parent / "shared" / "data"))
HEADING = re.compile(r"^#{1,6}\s+Quickstart\s*$", re.MULTILINE | re.IGNORECASE)
NEXT_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def quickstart_code(text: str) -> str:
    """The first ```python block of the "Quickstart" section.

    Raises:
        ValueError: when there is no such heading or no python block before the next heading.
    """
    heading = HEADING.search(text)
    if heading is None:
        raise ValueError("README.md has no 'Quickstart' heading")
    following = NEXT_HEADING.search(text, heading.end())
    section = text[heading.end():following.start() if following else len(text)]
    block = PYTHON_BLOCK.search(section)
    if block is None:
        raise ValueError("README.md's Quickstart section has no ```python block")
    return block.group(1)


def test_quickstart_extraction() -> None:
    text = "# x\n## Quickstart\n\n```bash\nls\n```\n\n```python\nprint(1)\n```\n\n```python\nprint(2)\n```\n## Next\n"
    assert quickstart_code(text) == "print(1)\n"
    with pytest.raises(ValueError, match="no ```python block"):
        quickstart_code("## Quickstart\ntext\n## Later\n```python\nprint(3)\n```\n")


def test_readme_links_the_notebooks_and_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    assert "examples/" in text and "docs/" in text


def test_readme_quickstart_runs(tmp_path: Path) -> None:
    code = quickstart_code(README.read_text(encoding="utf-8"))
    script = tmp_path / "quickstart.py"
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               CONVSCOPE_DATA_DIR=str(SHARED_DATA),
               CONVSCOPE_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, f"README quickstart failed:\n{result.stdout}\n{result.stderr}"
