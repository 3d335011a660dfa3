"""A simulated day of page views: volume, daily rhythm, bots, page layouts."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from backbeat.domain.inventory import Placement, Site
from backbeat.domain.taxonomy import AdFormat, DeviceType
from backbeat.sim.network import NETWORK
from backbeat.sim.population import Persona, build_population
from backbeat.sim.seeds import SeededPlacement, SeededSite
from backbeat.sim.traffic import DAY_S, PageView, plan_day

DAY0 = datetime(2026, 3, 4, tzinfo=UTC).timestamp()  # a Wednesday


def _sites() -> dict[str, SeededSite]:
    """The demo sites with made-up ids, as the seeding would give them."""
    out = {}
    next_id = 1
    for n, s in enumerate(NETWORK.sites, start=1):
        placements = []
        for ps in s.placements:
            pl = Placement(n, ps.name, AdFormat.DISPLAY, frozenset({ps.size}), ps.floor, id=next_id)
            placements.append(SeededPlacement(ps, pl))
            next_id += 1
        site = Site(1, s.domain, s.name, s.country, s.genres, id=n)
        out[s.key] = SeededSite(s, site, tuple(placements))
    return out


@pytest.fixture(scope="module")
def day() -> list[PageView]:
    audiences = build_population(NETWORK, 1.0, random.Random(11))
    return plan_day(
        audiences, _sites(), day=3, days=7, day_start=DAY0, scale=1.0, rng=random.Random(12)
    )


def test_volume_matches_the_sites(day: list[PageView]) -> None:
    for site in NETWORK.sites:
        people = sum(1 for v in day if v.site.seed.key == site.key and not v.persona.bot)
        assert 0.75 * site.daily_pageviews < people < 1.3 * site.daily_pageviews, site.key


def test_page_views_are_in_time_order_and_on_the_sites_domain(day: list[PageView]) -> None:
    assert [v.at for v in day] == sorted(v.at for v in day)
    assert all(DAY0 <= v.at < DAY0 + DAY_S + 3600 for v in day)
    for v in day[:500]:
        assert urlsplit(v.url).hostname == v.site.seed.domain


def test_evenings_are_busier_than_small_hours(day: list[PageView]) -> None:
    zone = ZoneInfo("America/New_York")
    hours = [datetime.fromtimestamp(v.at, UTC).astimezone(zone).hour
             for v in day if v.site.seed.key == "bars" and not v.persona.bot]
    evening = sum(h in (19, 20, 21) for h in hours)
    night = sum(h in (3, 4, 5) for h in hours)
    assert evening > 4 * night


def test_bot_share_is_heavy_on_the_forum_only(day: list[PageView]) -> None:
    audiences = build_population(NETWORK, 1.0, random.Random(13))
    week = [v for d in range(4) for v in plan_day(
        audiences, _sites(), day=d, days=4, day_start=DAY0 + d * DAY_S, scale=1.0,
        rng=random.Random(d),
    )]

    def share(key: str) -> float:
        views = [v for v in week if v.site.seed.key == key]
        return sum(v.persona.bot for v in views) / len(views)

    assert 0.2 < share("anvil") < 0.4  # declared 30%
    assert share("bars") < 0.08  # declared 3%


def test_layout_depends_on_the_device() -> None:
    site = _sites()["bars"]
    phone = Persona("192.0.2.1", "ua", DeviceType.MOBILE, "US", frozenset())
    desk = Persona("192.0.2.2", "ua", DeviceType.DESKTOP, "US", frozenset())
    bot = Persona("192.0.2.3", "ua", DeviceType.OTHER, "US", frozenset(), bot=True)
    mobile_slots = {s.seed.name for s in PageView(0, site, phone, "u").slots()}
    desktop_slots = {s.seed.name for s in PageView(0, site, desk, "u").slots()}
    assert mobile_slots == {"In-lyrics MPU", "Mobile sticky"}
    assert desktop_slots == {"Top leaderboard", "In-lyrics MPU"}
    assert {s.seed.name for s in PageView(0, site, bot, "u").slots()} == desktop_slots
