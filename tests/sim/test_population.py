"""The simulated readers: pool sizes, tastes, privacy signals, cross-site readers, bots."""

from __future__ import annotations

import random
from statistics import mean

from backbeat.domain.taxonomy import DeviceType
from backbeat.sim.network import NETWORK
from backbeat.sim.population import (
    PAGES_PER_VISIT,
    PRIVACY_SHARE,
    Persona,
    build_population,
    pages_in_visit,
)
from backbeat.tracking.useragent import classify


def test_pools_match_each_sites_daily_visits() -> None:
    audiences = build_population(NETWORK, 1.0, random.Random(1))
    for site in NETWORK.sites:
        aud = audiences[site.key]
        target = site.daily_pageviews / PAGES_PER_VISIT
        # Home readers give the target; readers from other sites add a little on top.
        assert 0.8 * target < aud.expected_visits < 1.5 * target, site.key


def test_readers_like_their_sites_genres_and_some_cross_over() -> None:
    audiences = build_population(NETWORK, 1.0, random.Random(2))
    crossed = 0
    for site in NETWORK.sites:
        for reader, loyalty in audiences[site.key].readers:
            assert 0 < loyalty <= 1
            assert not reader.bot
            assert not reader.likes.isdisjoint(site.genres)  # nobody reads what they dislike
            crossed += not reader.likes >= site.genres  # a reader from another site
    assert crossed > 50  # people visit sites beyond their home site


def test_readers_devices_and_privacy_follow_the_mix() -> None:
    audiences = build_population(NETWORK, 1.0, random.Random(3))
    bars = [p for p, _ in audiences["bars"].readers]
    phones = sum(p.device is DeviceType.MOBILE for p in bars) / len(bars)
    assert 0.55 < phones < 0.8  # the lyrics site is mobile first (68%)
    everyone = [p for a in audiences.values() for p, _ in a.readers]
    private = sum(p.privacy for p in everyone) / len(everyone)
    assert 0.5 * PRIVACY_SHARE < private < 2 * PRIVACY_SHARE
    for p in bars[:50]:
        assert classify(p.ua).device is p.device


def test_bot_heavy_site_gets_a_scraping_farm() -> None:
    audiences = build_population(NETWORK, 1.0, random.Random(4))
    anvil, bars = audiences["anvil"], audiences["bars"]
    assert len(anvil.bots) > len(bars.bots)
    assert all(b.bot and classify(b.ua).bot for b in anvil.bots)


def test_same_seed_same_population() -> None:
    a = build_population(NETWORK, 0.3, random.Random(9))
    b = build_population(NETWORK, 0.3, random.Random(9))
    for key in a:
        assert [(p.ip, p.ua, p.likes, w) for p, w in a[key].readers] == [
            (p.ip, p.ua, p.likes, w) for p, w in b[key].readers
        ]


def test_pages_per_visit_has_the_documented_mean() -> None:
    rng = random.Random(5)
    assert abs(mean(pages_in_visit(rng) for _ in range(20_000)) - PAGES_PER_VISIT) < 0.1


def test_persona_counts_views_per_day_and_keeps_cookies() -> None:
    p = Persona("203.0.113.9", "UA", DeviceType.DESKTOP, "US", frozenset({"pop"}))
    assert [p.see(1, 0), p.see(1, 0), p.see(2, 0), p.see(1, 1)] == [1, 2, 1, 1]
    assert "cookie" not in p.headers()
    p.keep_cookie("bb_vid=cabc; Path=/; HttpOnly")
    assert p.headers()["cookie"] == "bb_vid=cabc"
    p.privacy = True
    assert p.headers()["sec-gpc"] == "1"
