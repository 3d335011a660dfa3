"""The demo network's definition holds together, and its planted problems are planted."""

from __future__ import annotations

from backbeat.domain.campaign import Objective
from backbeat.domain.creative import DestinationKind
from backbeat.domain.taxonomy import GENRE_BY_SLUG, check_country
from backbeat.sim.network import NETWORK, usd


def test_money_helper_is_exact() -> None:
    assert usd("4.50") == 4_500_000 and usd("0.60") == 600_000 and usd("80") == 80_000_000


def test_sites_are_consistent() -> None:
    publishers = {p.key for p in NETWORK.publishers}
    for s in NETWORK.sites:
        assert s.publisher in publishers and s.domain.endswith(".example")
        assert s.genres and all(g in GENRE_BY_SLUG for g in s.genres)
        assert 2 <= len(s.placements) <= 3
        assert abs(sum(w for _, w in s.countries) - 1) < 0.01
        assert abs(sum(w for _, w in s.devices) - 1) < 0.01
        assert all(check_country(c) == c for c, _ in s.countries)
    assert 1 <= max(sum(s.publisher == p.key for s in NETWORK.sites)
                    for p in NETWORK.publishers) <= 3


def test_every_creative_has_somewhere_to_run() -> None:
    for c in NETWORK.campaigns:
        sites = [s for s in NETWORK.sites if not c.genres or c.genres & s.genres]
        if c.countries:
            sites = [s for s in sites if {k for k, _ in s.countries} & c.countries]
        sizes = {p.size for s in sites for p in s.placements}
        assert sites, c.key
        for cr in c.creatives:
            assert cr.size in sizes, (c.key, cr.key)


def test_retargeting_follows_the_campaign_it_retargets() -> None:
    keys = [c.key for c in NETWORK.campaigns]
    for c in NETWORK.campaigns:
        if c.objective is Objective.RETARGETING:
            assert c.retarget in keys[: keys.index(c.key)]
        else:
            assert c.retarget is None


def test_the_problems_are_planted() -> None:
    nd = NETWORK.campaign("night-drive")
    weak = next(cr for cr in nd.creatives if cr.key == "nd-lyric")
    assert nd.objective is Objective.TRAFFIC
    assert all(weak.appeal < cr.appeal / 5 for cr in nd.creatives if cr is not weak)
    festival = NETWORK.campaign("early-bird")
    assert festival.genres == festival.music and festival.widen_after is not None
    sampler = NETWORK.campaign("sampler")
    assert sampler.objective is Objective.AWARENESS and not sampler.genres and sampler.cap
    tour = NETWORK.campaign("sadie-tour")
    readers = [w for s in NETWORK.sites if s.genres & tour.genres
               for k, w in s.countries if k in tour.countries]
    assert tour.countries == {"IE"} and max(readers) < 0.1  # a sliver of a few sites
    assert tour.budget > 4 * max(c.budget for c in NETWORK.campaigns if c is not tour)
    assert max(s.bot_share for s in NETWORK.sites) == NETWORK.site("anvil").bot_share >= 0.3


def test_selling_campaigns_have_order_values() -> None:
    for c in NETWORK.campaigns:
        sells = c.destination in (DestinationKind.STORE, DestinationKind.TICKETS)
        assert (c.conversion_rate > 0) == sells, c.key
        if sells:
            lo, hi = (float(v) for v in c.order_value)
            assert 0 < lo <= hi
