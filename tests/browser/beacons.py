"""What the browser asked of the ad server: decisions (`/serve`, `/frame`) and the tracking
beacons the tag sent, observed through Playwright's network events (nothing is stubbed)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import BrowserContext, Page, Request, Response

KINDS = {"/i/": "impression", "/v/": "viewable", "/c/": "click"}


@dataclass
class Beacon:
    kind: str
    link: str  # the signed link without the tag's `u=` page parameter
    started_ms: float  # wall clock, ms since the epoch, as Chromium reports it
    status: int | None = None  # set when the server has answered


class BeaconLog:
    """Every tracking request a browser context sends to the ad server at `base`."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        self.base = base
        self.beacons: list[Beacon] = []
        self._by_request: dict[Request, Beacon] = {}
        context.on("request", self._started)
        context.on("requestfinished", self._finished)

    def _started(self, request: Request) -> None:
        url = request.url
        if not url.startswith(self.base):
            return
        path = url[len(self.base) :]
        kind = next((k for prefix, k in KINDS.items() if path.startswith(prefix)), None)
        if kind is None:
            return
        beacon = Beacon(kind, url.split("?", 1)[0], time.time() * 1000)
        self.beacons.append(beacon)
        self._by_request[request] = beacon

    def _finished(self, request: Request) -> None:
        beacon = self._by_request.get(request)
        if beacon is None:
            return
        start = request.timing.get("startTime", -1)
        if start > 0:
            beacon.started_ms = start
        response = request.response()
        beacon.status = response.status if response else None

    def of(self, link: str) -> list[Beacon]:
        """Beacons sent to one signed link (an ad's `imp`, `view` or `click`)."""
        return [b for b in self.beacons if b.link == link]

    def answered(self, link: str) -> list[Beacon]:
        return [b for b in self.of(link) if b.status is not None]

    def wait_answered(self, page: Page, link: str, count: int = 1, timeout: float = 5) -> None:
        """Pump Playwright's events until `count` beacons to `link` have been answered."""
        deadline = time.monotonic() + timeout
        while len(self.answered(link)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} answered beacon(s) to {link} expected within {timeout} s; "
                    f"seen: {self.of(link)}"
                )
            page.wait_for_timeout(25)


def ads_by_placement(body: Any) -> dict[int, dict[str, Any]]:
    """The `/serve` answer's ads keyed by placement id."""
    return {int(ad["placement"]): ad for ad in body["ads"]}


def open_page(
    context: BrowserContext, url: str, ad_server: str
) -> tuple[Page, Response, dict[int, dict[str, Any]]]:
    """Load a publisher page; return it with the ad server's `/serve` response and the
    ads it answered, by placement."""
    tab = context.new_page()
    with tab.expect_response(lambda r: r.url.startswith(ad_server + "/serve?")) as served:
        tab.goto(url)
    response = served.value
    return tab, response, ads_by_placement(response.json()) if response.ok else {}
