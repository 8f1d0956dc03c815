"""Fixtures for the web app tests; benchmarks/ is importable (its load tools drive the live tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import make_run, make_signal_run

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


@pytest.fixture(scope="session")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("serve") / "run")


@pytest.fixture(scope="session")
def signal_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signal_run(tmp_path_factory.mktemp("serve") / "run1d")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's headless Chromium under Playwright; skips where either is missing."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser) -> Iterator:
    """open_page(run, width=1280, path="/", wait_for=None) -> a page on `convscope serve RUN` at
    `path`, once the network is idle (and `wait_for`, a CSS selector, shows); JavaScript errors
    fail the test."""
    import bench_serve

    servers, pages, errors = [], [], []

    def open_run(run: Path, width: int = 1280, path: str = "/", wait_for: str | None = None):
        server = bench_serve.server(run)
        url = server.__enter__()
        servers.append(server)
        page = browser.new_page(viewport={"width": width, "height": 1000})
        page.on("pageerror", lambda error: errors.append(str(error)))
        pages.append(page)
        page.goto(url + path, wait_until="networkidle")
        if wait_for is not None:
            page.wait_for_selector(wait_for)
        return page

    yield open_run
    for page in pages:
        page.close()
    for server in servers:
        server.__exit__(None, None, None)
    assert errors == []
