"""The simulated browser against the real app: page views, beacons, clicks and orders."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backbeat.config import load_settings
from backbeat.domain.taxonomy import DeviceType
from backbeat.sim.actions import Browser, SimClock
from backbeat.sim.agents import DESKTOP_UAS, ip_in
from backbeat.sim.population import Persona
from backbeat.sim.runner import hold_index, use_sim_ids
from backbeat.sim.seeds import Seeded, seed_catalog
from backbeat.sim.traffic import PageView
from backbeat.store.catalog import open_catalog, upgrade
from backbeat.web.app import create_app
from backbeat.web.runtime import Runtime
from tests.sim.fresh_loop import run_fresh

END = datetime(2026, 3, 12, 18, tzinfo=UTC)
START = END - timedelta(days=1)
Script = Callable[[Browser, Seeded], Awaitable[None]]


def _run(tmp_path: Path, script: Script) -> list[tuple[Any, ...]]:
    """Seed the demo catalog, open the real app on a simulated clock, run `script`, and
    return the stored events (type, valid, drop reason, attribution, campaign)."""
    settings = load_settings(data_dir=tmp_path, secret_key="b" * 48)
    upgrade(settings.resolved_catalog_url)
    catalog = open_catalog(settings.resolved_catalog_url)
    seeded = seed_catalog(catalog, settings, start=START, end=END, users=False)
    clock = SimClock(START.timestamp())
    app = create_app(settings, catalog=catalog, clock=clock, rng=random.Random(1))

    async def main() -> list[tuple[Any, ...]]:
        async with app.router.lifespan_context(app):
            hold_index(app.state.runtime)
            use_sim_ids(app.state.runtime, clock, 1)
            browser = Browser(app, seeded, clock, random.Random(2), END.timestamp())
            await script(browser, seeded)
            await browser.settle()
            rt: Runtime = app.state.runtime
            return rt.store.query(
                "SELECT type, valid, drop_reason, attribution, campaign_id FROM events"
                " ORDER BY ts, type"
            )

    try:
        return run_fresh(main)
    finally:
        catalog.close()


def _page(seeded: Seeded, at: float, n: int = 1) -> PageView:
    fan = Persona(ip_in("GB", random.Random(7)), DESKTOP_UAS[0], DeviceType.DESKTOP, "GB",
                  frozenset({"electronic"}))
    return PageView(at, seeded.sites["pulse"], fan, f"https://pulsecircuit.example/mixes/{n}")


def test_page_view_asks_for_every_slot_and_queues_its_beacons(tmp_path: Path) -> None:
    async def script(browser: Browser, seeded: Seeded) -> None:
        pv = _page(seeded, START.timestamp() + 60)
        browser.push(pv.at, browser.page_view, pv)
        await browser.run_until(START.timestamp() + 3600)
        assert browser.tally["page views"] == 1
        assert browser.tally["ads served"] == 2  # leaderboard and MPU on a desktop page
        assert browser.tally["impression beacons"] >= 1

    rows = _run(tmp_path, script)
    assert [r[0] for r in rows].count("decision") == 2
    assert all(r[1] for r in rows)  # a person on the site's own domain: all valid


def test_an_order_after_a_click_carries_the_click_id_and_is_credited(tmp_path: Path) -> None:
    credited: list[int] = []

    async def script(browser: Browser, seeded: Seeded) -> None:
        at = START.timestamp() + 600
        pv = _page(seeded, at)
        browser.clock.set(at)
        ads = browser.page_view(pv)
        browser.queue.clear()  # drive this ad by hand
        ad = ads[0]
        creative = seeded.by_asset[ad["src"]]
        credited.append(creative.creative.campaign_id)
        browser.clock.set(at + 1)
        browser.beacon("/i/", ad["imp"], pv)
        browser.clock.set(at + 9)
        click = browser.click(ad["click"], pv, creative, first=False)
        await browser.settle()
        assert click.result().status_code == 302
        assert "bbclid=" in click.result().headers["location"]
        browser.clock.set(at + 600)
        browser.conversion(pv, creative, click)

    rows = _run(tmp_path, script)
    (conversion,) = [r for r in rows if r[0] == "conversion"]
    assert conversion[1] and conversion[3] == "click_through"
    assert conversion[4] == credited[0]


def test_an_order_without_a_click_is_credited_to_the_view(tmp_path: Path) -> None:
    credited: list[int] = []

    async def script(browser: Browser, seeded: Seeded) -> None:
        at = START.timestamp() + 600
        pv = _page(seeded, at)
        browser.clock.set(at)
        ad = browser.page_view(pv)[0]
        browser.queue.clear()
        creative = seeded.by_asset[ad["src"]]
        credited.append(creative.creative.campaign_id)
        browser.clock.set(at + 1)
        browser.beacon("/i/", ad["imp"], pv)
        await browser.settle()
        browser.clock.set(at + 3600)  # same UTC day: the same cookieless visitor
        browser.conversion(pv, creative, None)

    rows = _run(tmp_path, script)
    (conversion,) = [r for r in rows if r[0] == "conversion"]
    assert conversion[3] == "view_through" and conversion[4] == credited[0]


def test_a_link_of_the_wrong_kind_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    async def script(browser: Browser, seeded: Seeded) -> None:
        at = START.timestamp() + 600
        pv = _page(seeded, at)
        browser.clock.set(at)
        ad = browser.page_view(pv)[0]
        browser.queue.clear()
        creative = seeded.by_asset[ad["src"]]
        browser.clock.set(at + 5)
        browser.click(ad["imp"], pv, creative, first=False)  # an impression token
        await browser.settle()
        assert browser.tally["status 4xx"] == 1

    rows = _run(tmp_path, script)
    assert not [r for r in rows if r[0] in ("click", "impression")]
