"""Browser-test fixtures: Debian's Chromium through pytest-playwright, the publisher's page
server, a prepared Backbeat data directory and one real Backbeat server per test, and
screenshots of every open page when a test fails (in ``test-artifacts/``)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.adserver import AdServer, ServerPool, init_data_dir
from tests.browser.network import IMAGES, LANDINGS, AdNetwork, write_network
from tests.browser.site import (
    ASSET_HOST,
    LANDING_HOST,
    SITE_HOST,
    PageServer,
    landing_page,
    png,
)

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's `expect` waits 5 s by default. On a shared two-core machine running the
# suite two-way parallel, a dashboard page with charts has taken longer to draw; the
# assertions are the same, they may only wait longer for the page to get there.
expect.set_options(timeout=15_000)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
COLORS = ((200, 40, 90), (30, 110, 200))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium (never `playwright install`), with the test hosts mapped locally."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    rules = ", ".join(f"MAP {h} 127.0.0.1" for h in (SITE_HOST, f"*.{SITE_HOST}", LANDING_HOST))
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-proxy-server",
            f"--host-resolver-rules={rules}",
        ],
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item so fixtures can tell that the test failed."""
    report = yield
    item.stash.setdefault(PHASES, {})[report.when] = report
    return report


PHASES = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture
def new_context(
    browser: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts; on failure, screenshot each of their pages, then close them."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(**options)
        made.append(context)
        return context

    yield make
    call = request.node.stash.get(PHASES, {}).get("call")
    if call is not None and call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for i, context in enumerate(made):
            for j, page in enumerate(context.pages):
                page.screenshot(path=str(ARTIFACTS / f"{name}-{i}-{j}.png"), full_page=True)
    for context in made:
        context.close()


@pytest.fixture(scope="module")
def page_server() -> Iterator[PageServer]:
    """The publisher's site, the creatives' images and the advertisers' landing pages."""
    server = PageServer()
    for path, color in zip(IMAGES, COLORS, strict=True):
        server.add(path, png(300, 250, color), "image/png")
    for path in LANDINGS:
        server.add(path, landing_page(path.strip("/").replace("-", " ").title()))
    yield server
    server.close()


@pytest.fixture(scope="module")
def prepared(
    tmp_path_factory: pytest.TempPathFactory, page_server: PageServer
) -> tuple[Path, AdNetwork]:
    """A data directory after `backbeat init`, with the network written into its catalog;
    each test's server runs on a copy of it."""
    data_dir = tmp_path_factory.mktemp("backbeat-template") / "data"
    init_data_dir(data_dir)
    network = write_network(
        f"sqlite:///{data_dir / 'catalog.db'}",
        assets=page_server.origin(ASSET_HOST),
        landing=page_server.origin(LANDING_HOST),
    )
    return data_dir, network


@pytest.fixture
def network(prepared: tuple[Path, AdNetwork]) -> AdNetwork:
    return prepared[1]


@pytest.fixture(scope="module")
def server_pool(
    prepared: tuple[Path, AdNetwork], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerPool]:
    pool = ServerPool(prepared[0], tmp_path_factory.mktemp("backbeat-servers"))
    yield pool
    pool.close()


@pytest.fixture
def ad_server(server_pool: ServerPool) -> Iterator[AdServer]:
    """A fresh Backbeat server (own port, own data, empty counters) for one test."""
    server = server_pool.take()
    yield server
    server.stop()


@pytest.fixture
def slow_images(page_server: PageServer) -> Iterator[float]:
    """Every creative image takes 1.5 s to arrive, for one test."""
    seconds = 1.5
    for path in IMAGES:
        page_server.delay(path, seconds)
    yield seconds
    for path in IMAGES:
        page_server.delay(path, 0)
