"""SlateCache: lazy slates per block and index, prepared sets, and freeing old ones."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from backbeat.domain.campaign import Objective, Pricing
from backbeat.serving.index import CandidateIndex
from backbeat.serving.localtime import LocalTimes
from backbeat.serving.slate import Slate
from backbeat.serving.slatecache import SlateCache
from backbeat.serving.stats import CreativeStats
from backbeat.store.catalog.protocol import ServingSnapshot
from tests.serving.factories import (
    LEADER,
    NOW,
    campaign,
    creative,
    placement,
    snapshot,
    targeting,
)

# 15:59 UTC: the next block starts a new hour, so dayparts differ between the two blocks.
T = NOW + timedelta(minutes=59)
B = int(T.timestamp() // 60)
NEXT = datetime.fromtimestamp((B + 1) * 60, UTC)
COUNTRIES = ("US", "DE", None)


def network(bid_1: int = 5_000_000) -> ServingSnapshot:
    """Two shapes (300x250, 728x90) and campaigns whose slates differ between block B and
    the next: one starts inside the next block, one ends inside B, one runs only at 16h."""
    camps = [
        campaign(1, bid_micros=bid_1),
        campaign(2, pricing=Pricing.CPC, bid_micros=500_000),
        campaign(3, targeting=targeting(countries=frozenset({"US"}))),
        campaign(4, targeting=targeting(countries=frozenset({"DE"}))),
        campaign(5, objective=Objective.AWARENESS, bid_micros=4_000_000),
        campaign(6, start=NEXT + timedelta(seconds=30)),
        campaign(7, targeting=targeting(hours=frozenset({16}))),
        campaign(8, end=NEXT - timedelta(seconds=30)),
    ]
    creatives = [creative(10 * (c.id or 0), c.id or 0) for c in camps]
    creatives += [creative(11, 1, size=LEADER), creative(31, 3, size=LEADER)]
    slots = [placement(1), placement(2, sizes=frozenset({LEADER}))]
    return snapshot(camps, creatives, placements=slots)


def make_stats() -> CreativeStats:
    stats = CreativeStats()
    stats.record_impression(20, 9000)
    stats.record_click(20, 90)
    return stats


def new_cache(stats: CreativeStats) -> SlateCache:
    return SlateCache(block_s=60, local_times=LocalTimes(), stats=stats)


def facts(slate: Slate) -> tuple[object, ...]:
    """Everything a decision reads from a slate."""
    ranked = [(r.cand.id, r.ctr, r.score, r.bound, r.ecpm, r.check_flight) for r in slate.ranked]
    return slate.block, ranked, slate.groups, slate.ctr


def ids(slate: Slate) -> list[int]:
    return [r.cand.id for r in slate.ranked]


def test_a_prepared_slate_is_what_a_lazy_build_makes() -> None:
    index = CandidateIndex.build(network(), NOW)
    stats = make_stats()
    ahead, lazy = new_cache(stats), new_cache(stats)
    pes = [index.placements[1], index.placements[2]]
    now_ids = {(pe.id, c): ids(ahead.get(index, pe, c, B)) for pe in pes for c in COUNTRIES}
    us_now = ahead.get(index, index.placements[1], "US", B)
    assert ahead.builds == 2 + 6  # a base slate per shape, then one per country in use

    assert ahead.prebuild(index, B + 1) == 2 + 6
    assert ahead.builds == 8 and ahead.prebuilt == 8
    for pe in pes:
        for c in COUNTRIES:
            assert facts(ahead.get(index, pe, c, B + 1)) == facts(lazy.get(index, pe, c, B + 1))
    assert ahead.builds == 8  # the next block's requests built nothing

    # The comparison covers what changes with the block: 6 starts inside it (checked per
    # request), 7's hour begins, 8 has ended; country slates keep their own campaigns.
    us = ahead.get(index, index.placements[1], "US", B + 1)
    assert now_ids[(1, "US")] == [1, 3, 5, 8, 2]
    assert ids(us) == [1, 3, 5, 6, 7, 2]
    assert [r.check_flight for r in us.ranked if r.cand.id == 6] == [True]
    assert us.ranked[0] is us_now.ranked[0]  # campaign 1 is ranked as before: taken over
    assert ids(ahead.get(index, index.placements[1], "DE", B + 1)) == [1, 4, 5, 6, 7, 2]
    assert ids(ahead.get(index, index.placements[2], None, B + 1)) == [1]


def test_a_prepared_slate_ranks_with_the_stats_of_its_build() -> None:
    index = CandidateIndex.build(network(), NOW)
    stats = make_stats()
    ahead, lazy = new_cache(stats), new_cache(stats)
    pe = index.placements[1]
    ahead.get(index, pe, "US", B)
    ahead.prebuild(index, B + 1)
    stats.record_click(20, 90)  # arrives between the prebuild and the block
    assert ahead.get(index, pe, "US", B + 1).ctr == {2: 0.00975}  # as built, seconds ago
    assert lazy.get(index, pe, "US", B + 1).ctr == {2: 0.01875}


def test_a_country_first_seen_in_the_block_is_cut_from_the_prepared_base() -> None:
    index = CandidateIndex.build(network(), NOW)
    cache = new_cache(make_stats())
    pe = index.placements[1]
    cache.get(index, pe, "US", B)
    cache.prebuild(index, B + 1)
    builds = cache.builds
    assert ids(cache.get(index, pe, "FR", B + 1)) == [1, 5, 6, 7, 2]
    assert cache.builds == builds + 1  # the country slate only, not the base


def test_prebuild_of_a_ready_block_does_nothing_and_pauses_after_each_shape() -> None:
    index = CandidateIndex.build(network(), NOW)
    cache = new_cache(make_stats())
    pauses: list[float] = []
    assert cache.prebuild(index, B, pause=lambda: pauses.append(time.perf_counter())) == 2
    assert len(pauses) == 2  # one per shape
    assert cache.is_ready(index, B) and not cache.is_ready(index, B + 1)
    assert cache.prebuild(index, B) == 0
    cache.get(index, index.placements[1], "US", B)
    assert cache.builds == 1  # the country slate; the base was prepared


def test_slates_prepared_for_another_index_are_not_used() -> None:
    old = CandidateIndex.build(network(), NOW)
    new = CandidateIndex.build(network(bid_1=1_000_000), NOW)
    cache = new_cache(make_stats())
    cache.prebuild(old, B + 1)
    assert not cache.is_ready(new, B + 1)
    slate = cache.get(new, new.placements[1], "US", B + 1)
    assert cache.builds == 2
    assert slate.ranked[-1].cand.id == 1 and slate.ranked[-1].entry is new.campaigns[1]


def test_sets_left_behind_are_freed_by_release_not_by_the_request() -> None:
    index = CandidateIndex.build(network(), NOW)
    cache = new_cache(make_stats())
    cache.retire_later = True
    pe = index.placements[1]
    cache.get(index, pe, "US", B)
    old = cache.current
    assert old is not None
    cache.prebuild(index, B + 1)
    cache.get(index, pe, "US", B + 1)
    new = cache.current
    assert new is not None and new is not old and new.block == B + 1
    assert old.bases and old.slates  # left intact by the request that moved on
    pauses: list[int] = []
    assert cache.release(lambda: pauses.append(1)) == 1
    assert not (old.bases or old.slates or old.prepared)
    assert len(pauses) == 2  # one per slate freed: its base and its US slate
    assert new.bases and new.slates  # the current set is kept
    assert cache.release() == 0


def test_without_a_builder_nothing_is_retired() -> None:
    index = CandidateIndex.build(network(), NOW)
    cache = new_cache(make_stats())
    cache.get(index, index.placements[1], "US", B)
    old = cache.current
    cache.get(index, index.placements[1], "US", B + 1)
    assert old is not None and old.slates  # dropped with its last reference instead
    assert cache.release() == 0


def test_requests_racing_swaps_and_releases_see_consistent_slates() -> None:
    """Two request threads read slates while a third keeps swapping in new indexes with
    prepared slates, moving to the next block and freeing old sets. Every slate a request
    gets must be whole and belong to the index and block it asked for."""
    stats = make_stats()
    cache = new_cache(stats)
    cache.retire_later = True
    state: dict[str, object] = {"index": CandidateIndex.build(network(), NOW), "block": B}
    stop = threading.Event()
    errors: list[str] = []
    seen = [0, 0]

    def requests(slot: int, country: str) -> None:
        while not stop.is_set():
            index, block = state["index"], state["block"]
            assert isinstance(index, CandidateIndex) and isinstance(block, int)
            for pe in index.placements.values():
                slate = cache.get(index, pe, country, block)
                problems = [
                    slate.block != block,
                    any(r.entry is not index.campaigns[r.cand.id] for r in slate.ranked),
                    any(r.entry.countries not in (None, {country}) for r in slate.ranked),
                    sum(hi - lo for lo, hi in slate.groups) != len(slate.ranked),
                    not slate.ranked,
                ]
                if any(problems):
                    errors.append(f"{country} block {block}: {problems}")
                seen[slot] += 1

    readers = [threading.Thread(target=requests, args=(0, "US")),
               threading.Thread(target=requests, args=(1, "DE"))]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads as often as possible
    try:
        for t in readers:
            t.start()
        for n in range(60):
            block = B + n // 3
            fresh = CandidateIndex.build(network(bid_1=5_000_000 + n), NOW)
            cache.prebuild(fresh, block, pause=lambda: time.sleep(0))
            state["index"], state["block"] = fresh, block
            cache.release(lambda: time.sleep(0))
        stop.set()
        for t in readers:
            t.join(10)
    finally:
        sys.setswitchinterval(switch)
        stop.set()
    assert errors == []
    assert min(seen) > 0
    assert cache.prebuilt >= 60 * 2
