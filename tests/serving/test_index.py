"""CandidateIndex.build and IndexHolder (against the real SQLite catalog)."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import timedelta

from backbeat.domain.campaign import CampaignStatus
from backbeat.domain.creative import ReviewStatus
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.serving.decide import Decider
from backbeat.serving.index import CandidateIndex, IndexHolder
from backbeat.serving.request import Decision, NoFill
from backbeat.serving.stats import CreativeStats
from backbeat.serving.targeting import fitting_creatives
from backbeat.store.catalog import SqlCatalog
from backbeat.store.catalog.protocol import ServingSnapshot
from backbeat.store.counters.memory import MemoryCounters
from tests.serving.factories import (
    LEADER,
    MRECT,
    NOW,
    Clock,
    Gated,
    campaign,
    creative,
    placement,
    request,
    site,
    snapshot,
    targeting,
)


def test_keeps_only_live_campaigns_and_approved_creatives() -> None:
    camps = [
        campaign(1),
        campaign(2, status=CampaignStatus.PAUSED),
        campaign(3, end=NOW - timedelta(seconds=1)),  # ended before the build
        campaign(4, start=NOW + timedelta(days=2)),  # starts later: kept, goes live on time
        campaign(5),  # its only creative awaits review
        campaign(6, timezone="Mars/Olympus_Mons"),
    ]
    creatives = [creative(10 * c, c) for c in (1, 2, 3, 4, 6)]
    creatives += [creative(50, 5, review_status=ReviewStatus.PENDING)]
    creatives += [creative(11, 1, review_status=ReviewStatus.REJECTED)]
    index = CandidateIndex.build(snapshot(camps, creatives), NOW)
    assert sorted(index.campaigns) == [1, 4]
    assert [c.id for c in index.campaigns[1].creatives] == [10]
    assert index.campaign_count == 2


def test_placements_need_an_active_slot_on_a_known_site() -> None:
    slots = [placement(1), placement(2, active=False), placement(3, site_id=99)]
    index = CandidateIndex.build(snapshot([campaign(1)], placements=slots), NOW)
    assert sorted(index.placements) == [1]
    entry = index.placements[1]
    assert entry.site.id == 1 and [c.id for c in entry.fits] == [1]


def test_placements_of_one_shape_share_their_candidates() -> None:
    slots = [placement(1), placement(2, site_id=2), placement(3, sizes=frozenset({LEADER}))]
    creatives = [creative(10, 1), creative(11, 1, size=LEADER), creative(20, 2, size=LEADER)]
    index = CandidateIndex.build(
        snapshot([campaign(1), campaign(2)], creatives, [site(1), site(2)], slots), NOW
    )
    assert index.placements[1].fits is index.placements[2].fits
    assert [(c.id, [cr.id for cr in c.creatives]) for c in index.placements[3].fits] == [
        (1, [11]),
        (2, [20]),
    ]


def test_fits_agree_with_the_format_size_predicate() -> None:
    rng = random.Random(4)
    sizes = [MRECT, LEADER, Size(160, 600), Size(300, 600)]
    camps, creatives = [], []
    for cid in range(1, 120):
        want = frozenset(rng.sample(sizes, 2)) if rng.random() < 0.3 else frozenset()
        formats = frozenset({AdFormat.NATIVE}) if rng.random() < 0.1 else frozenset()
        camps.append(campaign(cid, targeting=targeting(sizes=want, formats=formats)))
        for k in range(rng.randint(1, 3)):
            creatives.append(creative(cid * 10 + k, cid, size=rng.choice(sizes)))
    slots = [
        placement(p, sizes=frozenset(rng.sample(sizes, rng.randint(1, 3)))) for p in range(1, 30)
    ]
    index = CandidateIndex.build(snapshot(camps, creatives, placements=slots), NOW)
    for pl in slots:
        expected = {}
        for e in index.campaigns.values():
            fitting = fitting_creatives(e, pl)
            if fitting:
                expected[e.id] = fitting
        got = {c.id: c.creatives for c in index.placements[pl.id or 0].fits}
        assert got == expected


# IndexHolder, with the real catalog -----------------------------------------------------------


def test_holder_rebuilds_when_the_catalog_version_moves(catalog: SqlCatalog) -> None:
    clock = Clock(NOW)
    holder = IndexHolder(catalog, clock, poll_ms=500, background=False)
    first = holder.current()
    assert first.version == catalog.version() and sorted(first.campaigns) == [1]

    camp = catalog.campaigns.get(1)
    catalog.campaigns.update(replace(camp, status=CampaignStatus.PAUSED))
    assert holder.current() is first  # not polled yet: within poll_ms
    clock.now += timedelta(milliseconds=499)
    assert holder.current() is first
    clock.now += timedelta(milliseconds=1)
    second = holder.current()
    assert second is not first and second.campaigns == {}
    assert second.version == catalog.version()
    clock.now += timedelta(seconds=5)
    assert holder.current() is second  # polled, version unchanged: kept


def test_holder_rebuilds_in_the_background(catalog: SqlCatalog) -> None:
    clock = Clock(NOW)
    source = Gated(catalog)
    holder = IndexHolder(source, clock, poll_ms=100)
    first = holder.current()
    camp = catalog.campaigns.get(1)
    catalog.campaigns.update(replace(camp, bid_micros=7_000_000))
    clock.now += timedelta(seconds=1)
    source.gate.clear()
    assert holder.current() is first  # the poll runs off the hot path
    source.gate.set()
    holder.wait(5)
    assert holder.current().campaigns[1].bid == 7_000_000


def test_failed_rebuild_keeps_serving_the_old_index(catalog: SqlCatalog) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.fail = False

        def version(self) -> int:
            if self.fail:
                raise ConnectionError("catalog down")
            return catalog.version() + 1000  # always "moved"

        def serving_snapshot(self) -> ServingSnapshot:
            return catalog.serving_snapshot()

    source = Flaky()  # wraps the real catalog to inject an outage
    clock = Clock(NOW)
    holder = IndexHolder(source, clock, poll_ms=10, background=False)
    first = holder.current()
    source.fail = True
    clock.now += timedelta(seconds=1)
    assert holder.current() is first
    assert isinstance(holder.last_error, ConnectionError)
    source.fail = False
    assert holder.refresh() and holder.last_error is None


def test_decider_follows_the_holder(catalog: SqlCatalog) -> None:
    clock = Clock(NOW)
    holder = IndexHolder(catalog, clock, poll_ms=1000, background=False)
    decider = Decider(holder, MemoryCounters(), random.Random(1), clock, CreativeStats())
    assert isinstance(decider.decide(request()), Decision)
    camp = catalog.campaigns.get(1)
    catalog.campaigns.update(replace(camp, status=CampaignStatus.PAUSED))
    clock.now += timedelta(seconds=2)
    assert decider.decide(request(now=clock.now)) == NoFill({})


def test_concurrent_current_starts_one_rebuild(catalog: SqlCatalog) -> None:
    builds = []

    class Counting:
        def version(self) -> int:
            return catalog.version()

        def serving_snapshot(self) -> ServingSnapshot:
            builds.append(1)
            return catalog.serving_snapshot()

    clock = Clock(NOW)
    holder = IndexHolder(Counting(), clock, poll_ms=50)  # counts snapshots of the real catalog
    camp = catalog.campaigns.get(1)
    catalog.campaigns.update(replace(camp, bid_micros=6_000_000))
    clock.now += timedelta(seconds=1)
    threads = [threading.Thread(target=holder.current) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    holder.wait(5)
    assert len(builds) == 2  # the initial build and exactly one rebuild
    assert holder.current().campaigns[1].bid == 6_000_000


def test_preparers_see_the_new_index_before_it_serves(catalog: SqlCatalog) -> None:
    holder = IndexHolder(catalog, Clock(NOW), background=False)
    first = holder.index
    seen: list[tuple[int, int]] = []  # (version prepared, version serving meanwhile)

    def prepare(index: CandidateIndex) -> None:
        seen.append((index.version, holder.index.version))

    def broken(index: CandidateIndex) -> None:
        raise RuntimeError("a preparer failed")

    holder.add_preparer(broken)
    holder.add_preparer(prepare)
    camp = catalog.campaigns.get(1)
    catalog.campaigns.update(replace(camp, bid_micros=6_000_000))
    assert holder.refresh()  # swapped in although a preparer raised
    second = holder.index
    assert seen == [(second.version, first.version)] and second.version > first.version
    holder.remove_preparer(prepare)
    holder.remove_preparer(prepare)  # removing twice is harmless
    assert holder.refresh(force=True) and len(seen) == 1
