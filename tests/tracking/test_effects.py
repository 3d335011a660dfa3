"""Effects: a worker's replica, fed by the ingest process, reads what the authority reads."""

from __future__ import annotations

import pickle

import pytest

from backbeat.config import Settings
from backbeat.domain.audience import Engagement
from backbeat.domain.events import EventType
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.memory import MemoryCounters
from backbeat.tracking.effects import Effects, RecordingCounters, apply_effects, creative_counts
from backbeat.tracking.hits import Counting, count_hit
from backbeat.tracking.pipeline import audience_key
from backbeat.tracking.signing import sign
from tests.tracking.conftest import NOW, SECRET, make_payload
from tests.tracking.test_hits import hit

VISITOR = "hVISITORVISITORVISITORV"


def test_recording_notes_the_writes_decisions_read_and_nothing_else() -> None:
    rec = RecordingCounters(MemoryCounters())
    rec.add_spend(7, "2025-11-28", 2_500)
    rec.add_spend(7, "2025-11-28", 500)  # summed: only a budget's total matters
    rec.record_exposure(VISITOR, 7, NOW, 3600)
    rec.add_member("viewed:7", VISITOR, NOW, 86_400)
    assert rec.claim("imp:decision-1", 600) and not rec.claim("imp:decision-1", 600)
    assert rec.claimed("imp:decision-1") and not rec.claimed("imp:decision-2")
    rec.hit("rate:k", NOW, 60)
    assert rec.drain() == Effects(
        spend={(7, "2025-11-28"): 3_000},
        exposures=[(VISITOR, 7, NOW, 3600)],
        members=[("viewed:7", VISITOR, NOW, 86_400)],
    )
    assert not rec.drain()


def test_without_keeping_profiles_the_writes_are_recorded_but_not_kept() -> None:
    inner = MemoryCounters()
    rec = RecordingCounters(inner, keep_profiles=False)
    assert rec.record_exposure(VISITOR, 7, NOW, 3600) == 0
    rec.add_member("viewed:7", VISITOR, NOW, 86_400)
    rec.add_spend(7, "2025-11-28", 2_500)  # spend and claims are the authority's: kept
    assert rec.claim("imp:decision-1", 600) and rec.claimed("imp:decision-1")
    assert inner.exposures(VISITOR, [7], NOW, 3600) == {7: 0}
    assert inner.engagement_count("viewed:7", VISITOR, NOW, 86_400) == 0
    assert inner.spend(7, "2025-11-28").total_micros == 2_500
    assert rec.drain() == Effects(
        spend={(7, "2025-11-28"): 2_500},
        exposures=[(VISITOR, 7, NOW, 3600)],
        members=[("viewed:7", VISITOR, NOW, 86_400)],
    )


def test_only_the_memberships_some_audience_reads_are_published() -> None:
    inner = MemoryCounters()
    keys: set[str] = {"clicked:7"}
    rec = RecordingCounters(inner, keep_profiles=True, audiences=lambda: keys)
    rec.add_member("viewed:7", VISITOR, NOW, 86_400)
    rec.add_member("clicked:7", VISITOR, NOW, 86_400)
    keys.add("viewed:9")  # the catalog gained an audience: read at each write
    rec.add_member("viewed:9", VISITOR, NOW, 86_400)
    assert rec.drain().members == [
        ("clicked:7", VISITOR, NOW, 86_400), ("viewed:9", VISITOR, NOW, 86_400)
    ]
    # What reaches the inner counters (shared ones: the workers read them) is unchanged.
    assert inner.engagement_count("viewed:7", VISITOR, NOW, 86_400) == 1


def test_a_replica_keeps_only_the_audiences_it_is_given() -> None:
    fx = Effects(
        exposures=[(VISITOR, 7, NOW, 3600)],
        members=[("viewed:7", VISITOR, NOW, 86_400), ("clicked:7", VISITOR, NOW, 86_400)],
    )
    replica = MemoryCounters()
    assert apply_effects(fx, replica, CreativeStats(), audiences={"clicked:7"}) == 2
    assert replica.exposures(VISITOR, [7], NOW, 3600) == {7: 1}
    assert replica.engagement_count("clicked:7", VISITOR, NOW, 86_400) == 1
    assert replica.engagement_count("viewed:7", VISITOR, NOW, 86_400) == 0


def test_a_replica_fed_the_effects_reads_what_the_authority_reads(settings: Settings) -> None:
    authority = RecordingCounters(MemoryCounters())
    counting = Counting(authority, settings, SECRET, lambda cid: None, CreativeStats())
    events = []
    for i in range(6):
        decision = f"019ac9f0-3a40-7c3e-9a1b-00000000000{i}"
        key = f"kABUSEKEYABUSEKEYABUSE{i}"  # separate rate windows: this is not a rate test
        imp = hit(ident=f"i{i}", token=sign(make_payload(decision_id=decision), SECRET),
                  visitor_key=key)
        events.append(count_hit(imp, counting).event)
        if i % 2 == 0:
            payload = make_payload(kind=EventType.CLICK, decision_id=decision, price_micros=0)
            click = hit(EventType.CLICK, ident=f"c{i}", at=NOW + 10 + i,
                        token=sign(payload, SECRET), visitor_key=key)
            events.append(count_hit(click, counting).event)
    stored = [e for e in events if e is not None]
    effects = authority.drain()
    effects.creatives = creative_counts(stored)
    effects = pickle.loads(pickle.dumps(effects))  # as it crosses the socket

    replica, stats = MemoryCounters(), CreativeStats()
    assert apply_effects(effects, replica, stats) == len(effects)
    day = "2025-11-28"
    assert replica.spend(101, day) == authority.spend(101, day)
    assert replica.spend(101, day).total_micros == 6 * 2_500
    now = NOW + 30
    assert replica.exposures(VISITOR, [101], now, 4 * 3600) == authority.exposures(
        VISITOR, [101], now, 4 * 3600
    )
    for engagement in (Engagement.VIEWED, Engagement.CLICKED):
        key = audience_key(engagement, 101)
        assert replica.engagement_count(key, VISITOR, now, 86_400) == (
            authority.engagement_count(key, VISITOR, now, 86_400)
        )
    assert stats.get(202) == (6, 3) == counting.stats.get(202)  # type: ignore[union-attr]


def test_creative_counts_skip_invalid_and_other_kinds(settings: Settings) -> None:
    counting = Counting(MemoryCounters(), settings, SECRET, lambda cid: None)
    first = count_hit(hit(), counting).event
    dup = count_hit(hit(ident="e2"), counting).event  # a duplicate: stored, invalid
    view = make_payload(kind=EventType.VIEWABLE)
    viewable = count_hit(hit(EventType.VIEWABLE, ident="e3", token=sign(view, SECRET)),
                         counting).event
    assert first and dup and viewable and not dup.valid and viewable.valid
    assert creative_counts([first, dup, viewable]) == [(202, 1, 0)]


def test_shared_counters_get_only_the_creative_counts() -> None:
    fx = Effects(spend={(7, "2025-11-28"): 2_500}, creatives=[(202, 3, 1)])
    counters, stats = MemoryCounters(), CreativeStats()
    assert apply_effects(fx, counters, stats, counters_too=False) == 1
    assert counters.spend(7, "2025-11-28").total_micros == 0
    assert stats.get(202) == (3, 1)


def test_effects_split_into_bounded_messages_that_apply_as_the_whole() -> None:
    big = Effects(
        spend={(7, "2025-11-28"): 3_000, (8, "2025-11-28"): 10},
        exposures=[(f"h{i:021d}", i % 5, NOW + i, 3600) for i in range(1_203)],
        members=[("viewed:7", f"h{i:021d}", NOW + i, 86_400) for i in range(640)],
        creatives=[(70, 12, 1)],
    )
    parts = big.split(500)
    assert all(len(p) <= 500 for p in parts)
    assert len(parts) == 4  # 3 + 1,203 + 640 entries
    assert parts[0].spend == big.spend and parts[0].creatives == big.creatives
    assert [e for p in parts for e in p.exposures] == big.exposures
    assert [m for p in parts for m in p.members] == big.members
    assert big.split(10_000) == [big]

    whole, pieces = MemoryCounters(), MemoryCounters()
    whole_stats, piece_stats = CreativeStats(), CreativeStats()
    apply_effects(big, whole, whole_stats)
    for p in parts:
        apply_effects(pickle.loads(pickle.dumps(p)), pieces, piece_stats)
    assert pieces.spend(7, "2025-11-28") == whole.spend(7, "2025-11-28")
    for i in (0, 600, 1_202):
        v = f"h{i:021d}"
        assert pieces.exposures(v, [i % 5], NOW + 2_000, 3600) == whole.exposures(
            v, [i % 5], NOW + 2_000, 3600
        ) == {i % 5: 1}
    assert pieces.engagement_count("viewed:7", "h" + "0" * 18 + "639", NOW + 700, 86_400) == 1
    assert piece_stats.snapshot() == whole_stats.snapshot()


def test_effects_split_refuses_a_size_below_one() -> None:
    with pytest.raises(ValueError):
        Effects().split(0)
