"""Slates: per-block flight and daypart, ranking order, equal-bound groups, country narrowing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backbeat.domain.campaign import Campaign, Objective, Pricing
from backbeat.serving.entries import CampaignEntry, Candidate
from backbeat.serving.localtime import LocalTimes
from backbeat.serving.ranking import REACH_BOOST
from backbeat.serving.slate import Slate, build_slate, equal_runs, for_country
from backbeat.serving.stats import CreativeStats
from tests.serving.factories import NOW, USD, campaign, creative, targeting

BLOCK_S = 60
BLOCK = int(NOW.timestamp()) // BLOCK_S


def cand(camp: Campaign) -> Candidate:
    e = CampaignEntry(camp, [creative(10 * (camp.id or 0), camp.id or 0)])
    return Candidate(e, e.creatives)


def slate_of(
    camps: list[Campaign], stats: CreativeStats | None = None, block: int = BLOCK
) -> Slate:
    return build_slate(
        [cand(c) for c in camps],
        block=block,
        block_s=BLOCK_S,
        local_times=LocalTimes(),
        stats=stats or CreativeStats(),
    )


def test_orders_by_bound_and_groups_equal_bounds() -> None:
    camps = [
        campaign(1, bid_micros=5 * USD),
        campaign(2, bid_micros=7 * USD),
        campaign(3, bid_micros=5 * USD),
        campaign(4, objective=Objective.AWARENESS, bid_micros=4 * USD),  # bound 4 x 1.25 = 5
        campaign(5, pricing=Pricing.CPC, bid_micros=USD),  # 1 x 0.75% = 7,500 per impression
    ]
    s = slate_of(camps)
    assert [r.cand.id for r in s.ranked] == [5, 2, 1, 3, 4]
    assert [(r.score, r.bound) for r in s.ranked] == [
        (pytest.approx(7500.0), pytest.approx(7500.0)),
        (7000.0, 7000.0),
        (5000.0, 5000.0),
        (5000.0, 5000.0),
        (4000.0, 4000.0 * REACH_BOOST),
    ]
    assert s.groups == ((0, 1), (1, 2), (2, 5))
    assert s.ctr == {5: pytest.approx(0.0075)}
    assert [r.ecpm for r in s.ranked][:2] == [pytest.approx(7_500_000), 7_000_000]


def test_flight_is_decided_per_block_except_at_its_edges() -> None:
    t0 = BLOCK * BLOCK_S
    camps = [
        campaign(1),
        campaign(2, end=NOW - timedelta(hours=1)),  # over before the block
        campaign(3, start=NOW + timedelta(hours=1)),  # starts after the block
        campaign(4, start=NOW.replace(second=30)),  # starts inside the block
    ]
    assert NOW.timestamp() == t0
    s = slate_of(camps)
    assert [(r.cand.id, r.check_flight) for r in s.ranked] == [(1, False), (4, True)]


def test_daypart_is_applied_per_block_in_the_campaign_zone() -> None:
    camps = [
        campaign(1, timezone="America/New_York", targeting=targeting(hours=frozenset({11}))),
        campaign(2, timezone="America/New_York", targeting=targeting(hours=frozenset({12}))),
    ]
    assert [r.cand.id for r in slate_of(camps).ranked] == [1]
    an_hour_later = BLOCK + 3600 // BLOCK_S
    assert [r.cand.id for r in slate_of(camps, block=an_hour_later).ranked] == [2]


def test_cpc_rank_uses_the_stats_at_build_time() -> None:
    stats = CreativeStats()
    stats.record_impression(10, 9000)
    stats.record_click(10, 180)  # posterior (7.5 + 180) / 10,000 = 1.875%
    s = slate_of([campaign(1, pricing=Pricing.CPC, bid_micros=400_000)], stats)
    assert s.ranked[0].ctr == pytest.approx(0.01875)
    assert s.ranked[0].score == pytest.approx(400_000 * 0.01875)


def test_for_country_keeps_order_and_regroups() -> None:
    camps = [
        campaign(1, bid_micros=6 * USD, targeting=targeting(countries=frozenset({"DE"}))),
        campaign(2, bid_micros=5 * USD),
        campaign(3, bid_micros=5 * USD, targeting=targeting(countries=frozenset({"US", "DE"}))),
        campaign(4, bid_micros=5 * USD, targeting=targeting(countries=frozenset({"FR"}))),
    ]
    base = slate_of(camps)
    us = for_country(base, "US")
    assert [r.cand.id for r in us.ranked] == [2, 3] and us.groups == ((0, 2),)
    assert [r.cand.id for r in for_country(base, "DE").ranked] == [1, 2, 3]
    assert [r.cand.id for r in for_country(base, None).ranked] == [2]
    assert us.block == base.block and us.ctr is base.ctr


def test_for_country_matches_a_plain_filter_on_a_mixed_slate() -> None:
    pool = [frozenset({"US"}), frozenset({"DE", "FR"}), frozenset({"US", "GB", "JP"}), None]
    camps = [
        campaign(
            i,
            bid_micros=(1 + i % 4) * USD,
            objective=Objective.AWARENESS if i % 5 == 0 else Objective.TRAFFIC,
            targeting=targeting(countries=pool[i % 4]),
        )
        for i in range(1, 61)
    ]
    base = slate_of(camps)
    for country in ("US", "DE", "FR", "GB", "JP", "ZZ", None):
        got = for_country(base, country)
        want = [r for r in base.ranked if r.entry.countries is None or country in r.entry.countries]
        assert got.ranked == want
        bounds = [r.bound for r in want]
        starts = [i for i in range(len(bounds)) if i == 0 or bounds[i] != bounds[i - 1]]
        assert got.groups == tuple(zip(starts, [*starts[1:], len(bounds)], strict=True))
        assert len(got.groups) > 1
    assert Slate(base.block, [], base.ctr).groups == ()
    us = for_country(base, "US")
    assert for_country(us, "US").ranked == us.ranked  # narrowing twice changes nothing


def test_a_country_slate_reads_like_a_list_but_holds_no_list() -> None:
    import gc

    camps = [
        campaign(i, bid_micros=(1 + i % 3) * USD,
                 targeting=targeting(countries=frozenset({"US"}) if i % 2 else None))
        for i in range(1, 41)
    ]
    base = slate_of(camps)
    us = for_country(base, "US")
    as_list = list(us.ranked)
    assert len(us.ranked) == len(as_list) == 40
    assert us.ranked[0] is as_list[0] and us.ranked[-1] is as_list[-1]
    assert us.members(2, 6) == as_list[2:6] and isinstance(us.members(2, 6), list)
    assert us.ranked[1:3] == as_list[1:3] and us.ranked != as_list[1:]
    de = for_country(base, "DE")
    assert list(de.ranked) == [r for r in base.ranked if r.entry.countries is None]
    # What the collector walks for a new country slate: a few references, not 40. (It
    # untracks a tuple of untracked values when it meets one: nested ones take a few passes.)
    for _ in range(3):
        gc.collect()
    assert len(gc.get_referents(us.ranked)) <= 3
    assert not gc.is_tracked(us.groups)


def test_a_build_with_pauses_ranks_the_same_and_yields_every_few_hundred() -> None:
    camps = [
        campaign(
            i,
            bid_micros=(1 + i % 17) * USD // 4,
            pricing=Pricing.CPC if i % 3 == 0 else Pricing.CPM,
            objective=Objective.AWARENESS if i % 5 == 0 else Objective.TRAFFIC,
            targeting=targeting(hours=frozenset({NOW.hour})) if i % 7 == 0 else targeting(),
            end=NOW + timedelta(seconds=30) if i % 11 == 0 else NOW + timedelta(days=1),
        )
        for i in range(1, 601)
    ]
    stats = CreativeStats()
    for i in range(3, 601, 3):
        stats.record_impression(10 * i, 1000 + i)
        stats.record_click(10 * i, i % 13)
    cands = [cand(c) for c in camps]
    pauses: list[int] = []

    def build(pause: list[int] | None) -> Slate:
        return build_slate(
            cands,
            block=BLOCK,
            block_s=BLOCK_S,
            local_times=LocalTimes(),
            stats=stats,
            pause=None if pause is None else lambda: pause.append(len(pause)),
        )

    plain, paused = build(None), build(pauses)
    assert len(pauses) == 3  # 600 candidates: after 256, 512 and 600
    assert [(r.cand.id, r.score, r.bound, r.check_flight) for r in paused.ranked] == [
        (r.cand.id, r.score, r.bound, r.check_flight) for r in plain.ranked
    ]
    assert paused.groups == plain.groups and paused.ctr == plain.ctr
    assert len(plain.ranked) == 600 and any(r.check_flight for r in plain.ranked)


def test_a_build_takes_over_what_did_not_change_from_the_previous_block() -> None:
    camps = [
        campaign(1),
        campaign(2, pricing=Pricing.CPC, bid_micros=USD),
        campaign(3, pricing=Pricing.CPC, bid_micros=USD),
        campaign(4, end=NOW + timedelta(seconds=90)),  # ends inside the next block
    ]
    cands = [cand(c) for c in camps]
    stats = CreativeStats()
    stats.record_impression(20, 1000)
    stats.record_impression(30, 1000)

    def build(block: int, previous: Slate | None = None) -> Slate:
        return build_slate(
            cands, block=block, block_s=BLOCK_S, local_times=LocalTimes(), stats=stats,
            previous=previous,
        )

    first = build(BLOCK)
    stats.record_click(30, 40)  # campaign 3's CTR moves between the blocks
    second = build(BLOCK + 1, previous=first)
    fresh = build(BLOCK + 1)
    kept = {r.cand.id for r in second.ranked if any(r is p for p in first.ranked)}
    assert kept == {1, 2}  # 3 is ranked with a new CTR, 4 is now checked per request
    assert [(r.cand.id, r.ctr, r.score, r.bound, r.ecpm, r.check_flight) for r in second.ranked] == [
        (r.cand.id, r.ctr, r.score, r.bound, r.ecpm, r.check_flight) for r in fresh.ranked
    ]
    assert second.groups == fresh.groups and second.ctr == fresh.ctr
    other = [cand(c) for c in camps]  # the same campaigns from another index build
    rebuilt = build_slate(
        other, block=BLOCK + 1, block_s=BLOCK_S, local_times=LocalTimes(), stats=stats,
        previous=second,
    )
    assert not any(r is p for r in rebuilt.ranked for p in second.ranked)


@pytest.mark.parametrize(
    ("values", "runs"),
    [
        ([], []),
        ([3.0], [(0, 1)]),
        ([3.0, 3.0, 3.0], [(0, 3)]),
        ([5.0, 4.0, 4.0, 2.0, 2.0, 2.0, 1.0], [(0, 1), (1, 3), (3, 6), (6, 7)]),
        ([1.0, 2.0, 1.0], [(0, 1), (1, 2), (2, 3)]),
    ],
)
def test_equal_runs(values: list[float], runs: list[tuple[int, int]]) -> None:
    assert equal_runs(values) == runs
