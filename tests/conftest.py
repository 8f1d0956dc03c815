"""Shared fixtures: where the read-only test data lives, a quiet, seeded environment, golden
files (`golden`, `--update-golden`) and the layers x checks table of run_layer_test."""

from __future__ import annotations

import difflib
import http.server
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
# CI clones the repository with shared/ beside it; developers have the same layout.
SHARED_DATA = Path(os.environ.get("CONVSCOPE_TEST_SHARED_DATA", REPO.parent / "shared" / "data"))
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """Folder holding `mnist/` (the real MNIST IDX files); skips when absent."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"shared MNIST data not found at {SHARED_DATA / 'mnist'}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """Debian's dataset-fashion-mnist folder; skips when the package is not installed."""
    if not FASHION_SYSTEM_DIR.is_dir():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    return FASHION_SYSTEM_DIR


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test write into the user's real cache."""
    monkeypatch.setenv("CONVSCOPE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("MPLBACKEND", "Agg")


# -- golden files ---------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden files (golden/ beside each test module) with the text the tests "
                          "print, instead of comparing with them")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """golden(name, text): `text` must equal the file golden/NAME beside the test module;
    `pytest --update-golden` writes the file instead (then review it with git diff)."""
    folder = Path(request.node.path).parent / "golden"
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str) -> None:
        path = folder / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        relative = path.relative_to(REPO)
        if not path.is_file():
            pytest.fail(f"missing golden file {relative}; create it with pytest {request.node.nodeid} --update-golden",
                        pytrace=False)
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), text.splitlines(keepends=True),
                                                f"{relative} (golden)", "printed now"))
            pytest.fail(f"printed text differs from {relative}:\n{diff}\nIf the change is intended, rewrite the "
                        f"file with pytest {request.node.nodeid} --update-golden", pytrace=False)

    return check


# -- the layers x checks table of tests/layers/test_every_layer.py -------------------------------

LAYER_CHECK_ROWS: dict[str, dict[str, Any]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs where the reports arrive (the controller under xdist), so rows from every worker meet.
    for key, value in report.user_properties:
        if key == "layer_checks" and report.when == "call":
            LAYER_CHECK_ROWS[value["case"]] = value


def layer_check_table(rows: dict[str, dict[str, Any]]) -> list[str]:
    """One line per case: ok (passed), - (not applicable or skipped), FAIL, or blank (not reached)."""
    from convscope.testing import CHECKS

    width = max(len(case) for case in rows)
    lines = [f"{'layer: case':<{width}}  " + "  ".join(CHECKS)]
    for case in sorted(rows):
        row = rows[case]
        cells = []
        for check in CHECKS:
            mark = "FAIL" if row.get("failed") == check else "ok" if check in row.get("checks", ()) else \
                "-" if check in row.get("skipped", {}) else ""
            cells.append(f"{mark:<{len(check)}}")
        lines.append(f"{case:<{width}}  " + "  ".join(cells).rstrip())
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if LAYER_CHECK_ROWS:
        terminalreporter.write_sep("-", f"run_layer_test: {len(LAYER_CHECK_ROWS)} layer cases x checks")
        for line in layer_check_table(LAYER_CHECK_ROWS):
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def fresh_inference_thread_verdict() -> None:
    """Each test starts with no remembered contention from predict calls of earlier tests."""
    threads = sys.modules.get("convscope.ops.threads")
    if threads is not None:
        threads.InferenceThreads.contended_until = float("-inf")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A local HTTP server on 127.0.0.1 serving files from a temporary folder: (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()

    def handler(*args: object, **kwargs: object) -> _QuietHandler:
        return _QuietHandler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
