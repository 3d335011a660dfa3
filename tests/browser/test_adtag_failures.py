"""The ad tag when something goes wrong, in a real browser: odd slot markup, more slots
than one request takes, a decision that never comes, a slot removed before its ad
rendered, a creative that fails to load. Each slot ends filled or collapsed (never stuck
"loading"), one slot's failure never blanks the others, and an impression is counted
only for an ad that rendered on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Response, Route, expect

from tests.browser.adserver import AdServer
from tests.browser.beacons import BeaconLog, open_page
from tests.browser.network import IMAGES, AdNetwork, publisher_page
from tests.browser.site import SITE_HOST, PageServer, page
from tests.web.network import CHROME

pytestmark = pytest.mark.browser

NewContext = Callable[..., BrowserContext]


def _serve_responses(tab: Page, ad_server: AdServer) -> list[Response]:
    seen: list[Response] = []
    tab.on("response", lambda r: seen.append(r) if r.url.startswith(ad_server.url + "/serve?") else None)
    return seen


def test_odd_slot_markup_fills_what_it_can_and_collapses_the_rest(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    path = page_server.add(
        "/tour", page("odd-slots.html", top=network.top, bottom=network.bottom, ad_server=ad_server.url)
    )
    context = new_context(user_agent=CHROME)
    beacons = BeaconLog(context, ad_server.url)
    tab, served, ads = open_page(context, page_server.origin(SITE_HOST) + path, ad_server.url)
    # The slot with no usable id is left out of the request rather than failing it (422).
    assert served.status == 200
    assert parse_qs(urlsplit(served.url).query)["p"] == [f"{network.top},{network.bottom}"]
    assert set(ads) == {network.top, network.bottom}

    sidebar = tab.locator("#sidebar")
    expect(sidebar).to_have_attribute("data-backbeat-state", "nofill")
    expect(sidebar).to_be_hidden()
    for selector, placement in (("#top", network.top), ("#bottom", network.bottom)):
        slot = tab.locator(selector)  # an <ins>, and an id written " 12 "
        expect(slot).to_have_attribute("data-backbeat-state", "filled")
        expect(slot).to_have_attribute("data-backbeat-impression", "1")
        beacons.wait_answered(tab, ads[placement]["imp"])
    box = tab.locator("#top").bounding_box()
    assert box is not None and (box["width"], box["height"]) == (300, 250)

    impressions = [e for e in ad_server.events() if e.type == "impression"]
    assert sorted((e.placement_id, e.valid) for e in impressions) == sorted(
        [(network.top, True), (network.bottom, True)]
    )


def test_more_slots_than_one_request_takes_are_asked_for_in_batches(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    slots = "\n".join(
        f'<div class="slot" data-backbeat-placement="{network.top}"></div>' for _ in range(13)
    )
    path = page_server.add(
        "/playlist",
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Playlist</title>'
        f'<body>{slots}<script async src="{ad_server.url}/tag.js"></script></body></html>',
    )
    context = new_context(user_agent=CHROME)
    tab = context.new_page()
    served = _serve_responses(tab, ad_server)
    tab.goto(page_server.origin(SITE_HOST) + path)
    all_slots = tab.locator(".slot")
    for i in range(13):
        expect(all_slots.nth(i)).not_to_have_attribute("data-backbeat-state", "loading")
    sizes = sorted(len(parse_qs(urlsplit(r.url).query)["p"][0].split(",")) for r in served)
    assert sizes == [1, 12]
    assert [r.status for r in served] == [200, 200]
    states = [all_slots.nth(i).get_attribute("data-backbeat-state") for i in range(13)]
    filled = sum(ads_total := [len(r.json()["ads"]) for r in served])
    assert states.count("filled") == filled >= 2, (states, ads_total)
    assert states.count("nofill") == 13 - filled


def test_a_decision_that_never_comes_collapses_the_slot_after_the_timeout(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    path = page_server.add(
        "/news", page("timeout.html", top=network.top, timeout_ms=400, ad_server=ad_server.url)
    )
    context = new_context(user_agent=CHROME)
    held: list[Route] = []
    context.route(f"{ad_server.url}/serve?*", lambda route: held.append(route))  # unanswered
    tab = context.new_page()
    tab.goto(page_server.origin(SITE_HOST) + path)
    slot = tab.locator("#top")
    expect(slot).to_have_attribute("data-backbeat-state", "nofill", timeout=3000)
    expect(slot).to_be_hidden()
    assert len(held) == 1


def test_a_slot_removed_before_its_ad_rendered_counts_no_impression(
    new_context: NewContext,
    page_server: PageServer,
    network: AdNetwork,
    ad_server: AdServer,
    slow_images: float,
) -> None:
    context = new_context(user_agent=CHROME)
    beacons = BeaconLog(context, ad_server.url)
    url = publisher_page(page_server, network, ad_server.url)
    tab, _, ads = open_page(context, url, ad_server.url)
    # A single-page app moving on while the creative is still on its way.
    tab.evaluate("() => document.getElementById('top').remove()")
    beacons.wait_answered(tab, ads[network.bottom]["imp"], timeout=slow_images + 3)
    tab.wait_for_timeout(500)
    assert beacons.of(ads[network.top]["imp"]) == []

    impressions = [e for e in ad_server.events() if e.type == "impression"]
    assert [e.placement_id for e in impressions] == [network.bottom]


@pytest.fixture
def broken_images(page_server: PageServer) -> Iterator[None]:
    """Every creative image answers 404, for one test."""
    kept = {path: page_server.remove(path) for path in IMAGES}
    yield
    for path, served in kept.items():
        assert served is not None
        page_server.add(path, served[1], served[0])


def test_a_creative_that_fails_to_load_collapses_its_slot_and_counts_nothing(
    new_context: NewContext,
    page_server: PageServer,
    network: AdNetwork,
    ad_server: AdServer,
    broken_images: None,
) -> None:
    context = new_context(user_agent=CHROME)
    beacons = BeaconLog(context, ad_server.url)
    url = publisher_page(page_server, network, ad_server.url)
    tab, _, ads = open_page(context, url, ad_server.url)
    assert set(ads) == {network.top, network.bottom}
    for selector in ("#top", "#bottom"):
        expect(tab.locator(selector)).to_have_attribute("data-backbeat-state", "nofill")
        expect(tab.locator(selector)).to_be_hidden()
    assert beacons.beacons == []
    assert [e.type for e in ad_server.events()] == ["decision", "decision"]
