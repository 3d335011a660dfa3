"""The ad tag in a real browser: Debian's Chromium against a real Backbeat server process
and a publisher page on the site's own domain (``lyricshub.test``, mapped to 127.0.0.1).

What is checked is what the IAB/MRC rules ask of the tag: an impression per slot on
begin-to-render, a viewable event only after 1 continuous second with the ad in view, one
billable click per ad that lands on the destination with UTM parameters, bots served but
not counted, a no-fill that collapses its slot, and the iframe tag counting like the
script tag. Stored events are read back from the server's DuckDB file once it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.adserver import AdServer, StoredEvent
from tests.browser.beacons import BeaconLog, open_page
from tests.browser.network import AdNetwork, publisher_page
from tests.browser.site import LANDING_HOST, SITE_HOST, PageServer, page
from tests.web.network import CHROME

pytestmark = pytest.mark.browser

NewContext = Callable[..., BrowserContext]


def _slot(p: Page, placement: int) -> Locator:
    return p.locator(f'[data-backbeat-placement="{placement}"]')


def _open(
    context: BrowserContext, url: str, ad_server: AdServer
) -> tuple[Page, dict[int, dict[str, Any]]]:
    """Load a publisher page; return it with the ads `/serve` answered, by placement."""
    tab, served, ads = open_page(context, url, ad_server.url)
    assert served.status == 200
    return tab, ads


def _publisher_page(page_server: PageServer, network: AdNetwork, ad_server: AdServer) -> str:
    return publisher_page(page_server, network, ad_server.url)


def _of(events: list[StoredEvent], type_: str, placement: int) -> list[StoredEvent]:
    return [e for e in events if e.type == type_ and e.placement_id == placement]


def test_each_slot_counts_one_impression_and_views_need_one_second_in_view(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    context = new_context(user_agent=CHROME)
    beacons = BeaconLog(context, ad_server.url)
    tab, ads = _open(context, _publisher_page(page_server, network, ad_server), ad_server)
    assert set(ads) == {network.top, network.bottom}
    assert ads[network.top]["decision"] != ads[network.bottom]["decision"]
    for placement, ad in ads.items():
        slot = _slot(tab, placement)
        expect(slot).to_have_attribute("data-backbeat-state", "filled")
        expect(slot).to_have_attribute("data-backbeat-impression", "1")
        beacons.wait_answered(tab, ad["imp"])

    top, bottom = ads[network.top], ads[network.bottom]
    beacons.wait_answered(tab, top["view"], timeout=3)  # in view from the start
    tab.wait_for_timeout(2000)
    assert beacons.of(bottom["view"]) == [], "below the fold, yet counted as viewable"

    scrolled_ms = tab.evaluate(
        "() => { document.getElementById('bottom').scrollIntoView({block: 'center'});"
        " return Date.now(); }"
    )
    tab.wait_for_timeout(500)
    assert beacons.of(bottom["view"]) == [], "viewable after half a second in view"
    beacons.wait_answered(tab, bottom["view"], timeout=2.0)
    (view,) = beacons.of(bottom["view"])
    assert 1000 <= view.started_ms - scrolled_ms < 2500

    events = ad_server.events()
    for placement in (network.top, network.bottom):
        (imp,) = _of(events, "impression", placement)
        (viewable,) = _of(events, "viewable", placement)
        assert (imp.valid, imp.drop_reason) == (True, None)
        assert (viewable.valid, viewable.drop_reason) == (True, None)
        assert imp.decision_id == viewable.decision_id == ads[placement]["decision"]
    (bottom_imp,) = _of(events, "impression", network.bottom)
    (bottom_view,) = _of(events, "viewable", network.bottom)
    # 2 s below the fold, then more than 1 s in view: the server saw it too
    assert (bottom_view.ts - bottom_imp.ts).total_seconds() > 3.0
    assert {e.campaign_id for e in _of(events, "impression", network.top)} != {
        e.campaign_id for e in _of(events, "impression", network.bottom)
    }


def test_a_click_lands_with_utm_parameters_and_a_double_click_counts_once(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    context = new_context(user_agent=CHROME)
    beacons = BeaconLog(context, ad_server.url)
    tab, ads = _open(context, _publisher_page(page_server, network, ad_server), ad_server)
    ad = ads[network.top]
    beacons.wait_answered(tab, ad["imp"])

    landed: list[Page] = []
    for _ in range(2):
        with context.expect_page() as popup:
            _slot(tab, network.top).click()
        landing = popup.value
        landing.wait_for_load_state()
        landed.append(landing)

    urls = [urlsplit(p.url) for p in landed]
    for url in urls:
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert url.hostname == LANDING_HOST
        assert url.path in {c.landing_path for c in network.campaigns}
        assert query["ref"] == "bb"  # the advertiser's own parameter is kept
        assert query["utm_source"] == "backbeat"
        assert query["utm_medium"] == "display"
        assert query["bbclid"].split(".")[0] == ad["decision"]
    assert landed[0].url == landed[1].url
    expect(landed[0]).to_have_title(urls[0].path.strip("/").replace("-", " ").title())
    beacons.wait_answered(tab, ad["click"], count=2)

    events = ad_server.events()
    clicks = sorted(_of(events, "click", network.top), key=lambda e: not e.valid)
    assert [(c.valid, c.drop_reason) for c in clicks] == [
        (True, None),
        (False, "duplicate_click"),
    ]
    assert {c.decision_id for c in clicks} == {ad["decision"]}
    # the landing page belongs to the clicked campaign, named in its utm_campaign
    campaign = network.campaign(clicks[0].campaign_id)
    assert urls[0].path == campaign.landing_path
    slug = campaign.name.lower().replace(" ", "-")  # "Night Drive single" -> night-drive-single
    assert parse_qs(urls[0].query)["utm_campaign"] == [slug]
    assert parse_qs(urls[0].query)["utm_content"] == [f"creative-{campaign.creative_id}"]


def test_a_headless_bot_is_served_but_its_events_are_invalid(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    context = new_context()  # Playwright's default UA: it says HeadlessChrome
    beacons = BeaconLog(context, ad_server.url)
    tab, ads = _open(context, _publisher_page(page_server, network, ad_server), ad_server)
    assert "HeadlessChrome" in tab.evaluate("navigator.userAgent")
    assert set(ads) == {network.top, network.bottom}
    for placement, ad in ads.items():
        expect(_slot(tab, placement)).to_have_attribute("data-backbeat-impression", "1")
        beacons.wait_answered(tab, ad["imp"])
    beacons.wait_answered(tab, ads[network.top]["view"], timeout=3)

    events = ad_server.events()
    tracked = [e for e in events if e.type != "decision"]
    assert sorted((e.type, e.placement_id) for e in tracked) == sorted(
        [
            ("impression", network.top),
            ("impression", network.bottom),
            ("viewable", network.top),
        ]
    )
    assert {(e.valid, e.drop_reason) for e in events} == {(False, "bot")}


def test_a_no_fill_collapses_its_slot(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    path = page_server.add(
        "/charts",
        page(
            "nofill.html", leaderboard=network.leaderboard, top=network.top, ad_server=ad_server.url
        ),
    )
    context = new_context(user_agent=CHROME)
    tab, ads = _open(context, page_server.origin(SITE_HOST) + path, ad_server)
    assert set(ads) == {network.top}
    empty = _slot(tab, network.leaderboard)
    expect(empty).to_have_attribute("data-backbeat-state", "nofill")
    expect(empty).to_have_css("display", "none")
    expect(empty).to_be_hidden()
    expect(_slot(tab, network.top)).to_have_attribute("data-backbeat-state", "filled")
    expect(_slot(tab, network.top)).to_have_attribute("data-backbeat-impression", "1")

    decisions = [e for e in ad_server.events() if e.type == "decision"]
    assert sorted((e.placement_id, e.campaign_id == 0) for e in decisions) == sorted(
        [(network.leaderboard, True), (network.top, False)]
    )


def test_the_iframe_tag_renders_an_ad_and_counts_its_impression(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    path = page_server.add(
        "/songs/city-lights",
        page("iframe.html", placement=network.top, ad_server=ad_server.url),
    )
    context = new_context(user_agent=CHROME)
    beacons = BeaconLog(context, ad_server.url)
    tab = context.new_page()
    tab.goto(page_server.origin(SITE_HOST) + path)
    slot = tab.frame_locator("#ad").locator(f'[data-backbeat-placement="{network.top}"]')
    expect(slot).to_have_attribute("data-backbeat-state", "filled")
    expect(slot).to_have_attribute("data-backbeat-impression", "1")
    ad = json.loads(slot.get_attribute("data-backbeat-ad") or "null")
    assert slot.get_attribute("data-backbeat-decision") == ad["decision"]
    beacons.wait_answered(tab, ad["imp"])
    beacons.wait_answered(tab, ad["view"], timeout=3)  # the frame is in view

    events = ad_server.events()
    assert [(e.type, e.valid, e.drop_reason, e.placement_id, e.decision_id) for e in events] == [
        ("decision", True, None, network.top, ad["decision"]),
        ("impression", True, None, network.top, ad["decision"]),
        ("viewable", True, None, network.top, ad["decision"]),
    ]


def test_the_viewable_clock_starts_when_the_ad_has_rendered(
    new_context: NewContext,
    page_server: PageServer,
    network: AdNetwork,
    ad_server: AdServer,
    slow_images: float,
) -> None:
    context = new_context(user_agent=CHROME)
    beacons = BeaconLog(context, ad_server.url)
    tab, ads = _open(context, _publisher_page(page_server, network, ad_server), ad_server)
    top = ads[network.top]
    beacons.wait_answered(tab, top["imp"], timeout=slow_images + 3)
    beacons.wait_answered(tab, top["view"], timeout=3)
    (imp,) = beacons.of(top["imp"])
    (view,) = beacons.of(top["view"])
    assert view.started_ms - imp.started_ms >= 1000, "viewable before 1 s of the rendered ad"

    (stored,) = _of(ad_server.events(), "viewable", network.top)
    assert (stored.valid, stored.drop_reason) == (True, None)


def test_an_ad_hidden_by_style_is_not_viewable_until_it_shows(
    new_context: NewContext, page_server: PageServer, network: AdNetwork, ad_server: AdServer
) -> None:
    """In view by its box, but inside a transparent wrapper (a hidden ad, MRC's SIVT): the
    viewable clock starts only once the ad can be seen."""
    path = page_server.add(
        "/videos", page("hidden.html", top=network.top, ad_server=ad_server.url)
    )
    context = new_context(user_agent=CHROME)
    beacons = BeaconLog(context, ad_server.url)
    tab, ads = _open(context, page_server.origin(SITE_HOST) + path, ad_server)
    ad = ads[network.top]
    beacons.wait_answered(tab, ad["imp"])  # it rendered: an impression
    tab.wait_for_timeout(2000)
    assert beacons.of(ad["view"]) == [], "viewable while transparent"

    shown_ms = tab.evaluate(
        "() => { document.getElementById('wrap').style.opacity = '1'; return Date.now(); }"
    )
    beacons.wait_answered(tab, ad["view"], timeout=3)
    (view,) = beacons.of(ad["view"])
    assert 1000 <= view.started_ms - shown_ms < 2500

    (stored,) = _of(ad_server.events(), "viewable", network.top)
    assert (stored.valid, stored.drop_reason) == (True, None)
