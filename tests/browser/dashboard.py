"""The dashboard's side of the browser tests: a real Backbeat server over a data directory
filled by ``backbeat demo``, the demo logins, and signing in through the login form.

The demo runs with ``BACKBEAT_BASE_URL`` already set to the server's own URL, because the
seeded creatives' images are linked under it. A short run (2 days at a third of the traffic)
is enough for the tests' charts and findings; ``BACKBEAT_SCREENSHOT=1`` asks for the full
default network (14 days), the one the README's screenshot shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from backbeat.sim.seeds import DEMO_PASSWORD
from tests.live import LiveServer, free_port

SCREENSHOT_ENV = "BACKBEAT_SCREENSHOT"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "campaign-page.png"
SHORT_DEMO = ("--days", "2", "--scale", "0.3", "--seed", "1")
FULL_DEMO = ("--days", "14", "--seed", "1")


def screenshot_wanted() -> bool:
    """Whether this run should (re)make the README's screenshot of a campaign page."""
    return os.environ.get(SCREENSHOT_ENV, "") == "1"


@dataclass(frozen=True)
class Login:
    email: str
    role: str
    home: str  # the path the role lands on after signing in
    nav: tuple[str, ...]  # the role's main navigation, in order
    password: str = DEMO_PASSWORD


ADMIN = Login(
    "admin@backbeat.example",
    "admin",
    "/network",
    (
        "Network",
        "Creative review",
        "Invalid traffic",
        "Advertisers & publishers",
        "Campaigns",
        "Inventory",
    ),
)
ADVERTISER = Login(
    "team@novalux.example",
    "advertiser",
    "/campaigns",
    ("My campaigns", "Start a campaign", "Other platforms"),
)
PUBLISHER = Login("ads@versechart.example", "publisher", "/publisher", ("My sites", "Earnings"))
# The advertiser's campaign with the planted weak creative: charts, findings and an A/B panel.
CAMPAIGN = "Night Drive: single launch"


class DemoDashboard:
    """``backbeat demo`` into `data_dir`, then ``backbeat serve`` on a free port over it."""

    def __init__(self, data_dir: Path, demo_args: tuple[str, ...] = SHORT_DEMO) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BACKBEAT_DATA_DIR": str(data_dir), "BACKBEAT_BASE_URL": self.url}
        self.live = LiveServer(url=self.url, data_dir=data_dir, env=env)
        demo = self.live.cli("demo", *demo_args, check=False)
        if demo.returncode != 0:
            raise RuntimeError(f"backbeat demo failed:\n{demo.stdout[-2000:]}{demo.stderr[-2000:]}")
        self._log = data_dir / "server.log"
        with self._log.open("wb") as log:
            self.live.process = subprocess.Popen(
                [sys.executable, "-m", "backbeat.cli", "serve", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        process = self.live.process
        assert process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("backbeat serve did not start:\n" + self.log()[-3000:])

    def log(self) -> str:
        return self._log.read_text(errors="replace")

    def stop(self) -> None:
        self.live.stop()


def sign_in(tab: Page, base_url: str, email: str, password: str) -> None:
    """Fill and send the login form (the caller checks where it lands)."""
    tab.goto(base_url + "/login")
    tab.locator("#email").fill(email)
    tab.locator("#password").fill(password)
    tab.get_by_role("button", name="Sign in").click()


def sign_in_as(tab: Page, base_url: str, login: Login) -> None:
    """Sign in and wait until the role's home page has loaded."""
    sign_in(tab, base_url, login.email, login.password)
    expect(tab).to_have_url(base_url + login.home)


def page_overflow(tab: Page) -> tuple[int, int]:
    """(scrollWidth of the page, innerWidth): the page overflows sideways when the first is
    larger."""
    got = tab.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return int(got[0]), int(got[1])


def save_campaign_screenshot(tab: Page, path: Path = SCREENSHOT) -> Path:
    """Save the top of an open campaign page, from the navigation down to the day-by-day
    charts, at the page's own width (the README's picture). Returns the path."""
    tab.evaluate("() => document.fonts.ready")
    # Down to where the next section starts: the charts and the blank space below them.
    bottom = tab.evaluate(
        """() => {
          const days = document.querySelector("section[aria-labelledby='period-section-heading']");
          const next = days.nextElementSibling;
          const edge = (next || days).getBoundingClientRect();
          return (next ? edge.top : edge.bottom) + window.scrollY;
        }"""
    )
    width = int(tab.evaluate("() => document.documentElement.clientWidth"))
    path.parent.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": width, "height": float(bottom)}
    tab.screenshot(path=str(path), clip=clip, full_page=True)  # type: ignore[arg-type]
    return path
