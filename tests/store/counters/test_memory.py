"""MemoryCounters specifics: bounded memory (sweeps, caps) and its injected clock."""

from __future__ import annotations

import pytest

from backbeat.heap import PIN as _PIN
from backbeat.store.counters.limits import DAY_BUCKET_TTL_S, MAX_SERIES
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.protocol import Spend
from tests.store.counters.conftest import FakeClock

T0 = 1_764_000_000.0


def make(interval: float = 30.0) -> tuple[MemoryCounters, FakeClock]:
    clock = FakeClock()
    return MemoryCounters(clock=clock, sweep_interval_s=interval), clock


def test_expired_entries_are_swept_so_memory_stays_bounded() -> None:
    c, clock = make(interval=10)
    for i in range(500):
        c.claim(f"imp:{i}", 60)
        c.hit(f"rate:{i}", T0, 60)
        c.record_exposure(f"v{i}", 1, T0, 60)
        c.add_member("clicked:1", f"v{i}", T0, 60)
    assert c.entries() == 2000
    clock.advance(61)
    # Each write sweeps its own stripe once the interval has passed; one write per stripe
    # (or an explicit sweep) clears everything that expired.
    c.sweep()
    assert c.entries() == 0


def test_writes_trigger_the_sweep_of_their_stripe() -> None:
    c, clock = make(interval=5)
    c.claim("old", 10)
    clock.advance(11)
    before = c.entries()
    # Writing many keys touches every stripe, each sweeping its expired entries.
    for i in range(200):
        c.claim(f"new:{i}", 10)
    assert before == 1
    assert c.entries() == 200


def test_spend_totals_survive_sweeps_but_day_buckets_expire() -> None:
    c, clock = make()
    c.add_spend(3, "2026-11-28", 900)
    clock.advance(DAY_BUCKET_TTL_S - 1)
    assert c.spend(3, "2026-11-28") == Spend(900, 900)
    clock.advance(2)
    c.sweep()
    assert c.spend(3, "2026-11-28") == Spend(900, 0)
    assert c.entries() == 1  # only the campaign total remains


def test_day_bucket_ttl_is_refreshed_by_each_write() -> None:
    c, clock = make()
    c.add_spend(3, "d", 1)
    clock.advance(DAY_BUCKET_TTL_S - 1)
    c.add_spend(3, "d", 1)
    clock.advance(DAY_BUCKET_TTL_S - 1)
    assert c.spend(3, "d") == Spend(2, 2)


def test_series_keeps_at_most_max_series_entries() -> None:
    c, _ = make()
    for i in range(MAX_SERIES + 50):
        last = c.record_exposure("v", 1, T0 + i * 0.001, 86_400)
    assert last == MAX_SERIES
    assert c.exposures("v", [1], T0 + 100, 86_400) == {1: MAX_SERIES}


def test_out_of_order_exposures_are_kept_sorted() -> None:
    c, _ = make()
    c.record_exposure("v", 1, T0 + 50, 100)
    c.record_exposure("v", 1, T0 + 10, 100)  # a late write from a racing thread
    c.record_exposure("v", 1, T0 + 30, 100)
    # Window (T0+20, T0+120]: T0+30 and T0+50 count, T0+10 does not.
    assert c.exposures("v", [1], T0 + 120, 100) == {1: 2}
    assert c.record_exposure("v", 1, T0 + 135, 100) == 2  # T0+50 and T0+135


def test_close_forgets_everything() -> None:
    c, _ = make()
    c.add_spend(1, "d", 5)
    c.claim("k", 60)
    c.close()
    assert c.entries() == 0
    assert c.claim("k", 60) is True


def test_stripes_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        MemoryCounters(stripes=12)
    assert MemoryCounters(stripes=1).claim("k", 1) is True


def test_series_are_invisible_to_the_garbage_collector() -> None:
    """A busy server holds millions of series; a full collection must not walk them."""
    import gc

    counters = MemoryCounters()
    for i in range(2_000):
        counters.record_exposure(f"h{i:021d}", i % 7, 1_700_000_000.0 + i, 3600)
        counters.add_member("viewed:7", f"h{i:021d}", 1_700_000_000.0 + i, 86_400)
    # out of order and repeated stamps too
    counters.record_exposure("h0", 1, 1_700_000_000.0, 3600)
    counters.record_exposure("h0", 1, 1_699_999_990.0, 3600)
    gc.collect()  # the collector untracks tuples that hold only untracked values
    entries = [
        (key, value)
        for stripe in counters._stripes
        for key, value in stripe.series.items()
        if key is not _PIN
    ]
    assert len(entries) == 4_001
    assert not any(gc.is_tracked(k) or gc.is_tracked(v) for k, v in entries)
    assert counters.exposures("h0", [1], 1_700_000_000.0, 3600) == {1: 2}


def test_frozen_stripes_stay_out_of_young_collections() -> None:
    """A dict the collector had untracked was tracked again, among the young objects, by
    the next fresh series put in it, and every young collection then walked all of it."""
    import gc

    counters = MemoryCounters()
    counters.replay([(f"h{i}", i % 7, 1_700_000_000.0 + i, 3600) for i in range(500)], [])
    gc.collect()
    gc.freeze()  # as web.runtime.settle_heap does once a process has loaded its state
    try:
        s = str(7)  # fresh (tracked) tuples below, not constants
        counters.record_exposure("h" + s, 3, 1_700_000_100.0, 3600)
        counters.replay([("h" + s, 4, 1_700_000_101.0, 3600)], [("viewed:" + s, "v", 1.0, 60)])
        counters.hit("rate:" + s, 1_700_000_100.0, 60)
        counters.add_spend(7, "2025-11-" + s.zfill(2), 1_000)
        young = {id(o) for o in gc.get_objects(0)}
        for stripe in counters._stripes:
            for entries in (stripe.days, stripe.rates, stripe.series):
                assert gc.is_tracked(entries)  # never untracked, so never re-tracked
                assert id(entries) not in young
    finally:
        gc.unfreeze()


def test_sweeping_keeps_each_dict_and_its_pin() -> None:
    counters, clock = make(interval=1.0)
    counters.record_exposure("h1", 1, 1_700_000_000.0, 60)
    counters.hit("rate:h1", 1_700_000_000.0, 60)
    counters.add_spend(1, "2025-11-28", 500)
    before = [id(d) for st in counters._stripes for d in (st.days, st.rates, st.series)]
    clock.advance(3 * DAY_BUCKET_TTL_S)
    counters.sweep()
    assert counters.entries() == 1  # campaign 1's total, which never expires
    after = [id(d) for st in counters._stripes for d in (st.days, st.rates, st.series)]
    assert after == before  # swept in place: the frozen dicts stay the ones in use
    for st in counters._stripes:
        assert _PIN in st.days and _PIN in st.rates and _PIN in st.series
    counters.close()
    assert counters.entries() == 0
    assert all(_PIN in st.series for st in counters._stripes)


def test_adopting_replicas_swaps_spend_and_profiles_and_keeps_claims_and_rates() -> None:
    live, clock = make()
    live.add_spend(1, "2025-11-28", 500)  # replicated: replaced
    live.record_exposure("hOld", 1, T0, 3600)
    live.add_member("viewed:1", "hOld", T0, 3600)
    assert live.claim("dec-1:impression", 60)  # the worker's own: kept
    assert live.hit("login:fan", T0, 60) == 1
    dicts = [id(d) for st in live._stripes for d in (st.totals, st.days, st.series)]
    fresh = live.sibling()
    assert fresh._clock is clock and len(fresh._stripes) == len(live._stripes)
    fresh.add_spend(1, "2025-11-28", 4_000)
    fresh.add_spend(2, "restored", 900)
    fresh.record_exposure("hNew", 1, T0, 3600)
    fresh.add_member("viewed:1", "hNew", T0, 3600)
    live.adopt_replicated(fresh)
    assert live.spend(1, "2025-11-28") == Spend(4_000, 4_000)
    assert live.spend(2, "2025-11-28") == Spend(900, 0)
    assert live.exposures("hOld", [1], T0 + 1, 3600) == {1: 0}
    assert live.exposures("hNew", [1], T0 + 1, 3600) == {1: 1}
    assert live.engagement_count("viewed:1", "hOld", T0 + 1, 3600) == 0
    assert live.engagement_count("viewed:1", "hNew", T0 + 1, 3600) == 1
    assert not live.claim("dec-1:impression", 60)
    assert live.hit("login:fan", T0, 60) == 2
    # the same (pinned, frozen) dicts, refilled; the sibling is left empty
    assert [id(d) for st in live._stripes for d in (st.totals, st.days, st.series)] == dicts
    assert all(_PIN in st.days and _PIN in st.series for st in live._stripes)
    assert fresh.entries() == 0
    with pytest.raises(ValueError, match="same stripes"):
        live.adopt_replicated(MemoryCounters(stripes=4))


def test_a_bulk_replay_keeps_what_one_by_one_writes_keep() -> None:
    at = 1_700_000_000.0
    exposures = [(f"h{i % 7}", i % 3, at + i, 3600) for i in range(40)]
    exposures.append(("h1", 1, at - 10_000, 3600))  # already outside its window
    members = [(f"viewed:{i % 4}", f"h{i % 5}", at + i, 86_400) for i in range(30)]
    one, bulk = MemoryCounters(), MemoryCounters()
    for visitor, campaign, t, window in exposures:
        one.record_exposure(visitor, campaign, t, window)
    for audience, visitor, t, ttl in members:
        one.add_member(audience, visitor, t, ttl)
    bulk.replay(exposures, members)
    for visitor in {e[0] for e in exposures}:
        assert bulk.exposures(visitor, [0, 1, 2], at + 50, 3600) == one.exposures(
            visitor, [0, 1, 2], at + 50, 3600
        )
    for audience, visitor, _, _ in members:
        assert bulk.engagement_count(audience, visitor, at + 50, 86_400) == (
            one.engagement_count(audience, visitor, at + 50, 86_400)
        )
    assert bulk.exposures("h1", [1], at + 50, 3600)[1] == 2  # i = 1 and 22; not the old one


def test_stripes_fall_due_one_at_a_time_and_a_replay_sweeps_one_per_call() -> None:
    """A busy process's stripes must not sweep all at once: that walked every series it
    holds in one go (tens of ms with the GIL held, in a worker)."""
    counters, clock = make(interval=32.0)
    due = sorted(st.next_sweep - clock.t for st in counters._stripes)
    assert due == [2.0 * (i + 1) for i in range(16)]  # staggered over the interval
    at = 1_700_000_000.0
    counters.replay([(f"h{i}", 1, at, 60) for i in range(400)], [])
    assert counters.entries() == 400  # nothing was due yet
    clock.advance(200)  # every series expired and every stripe due: a replay sweeps one
    before = counters.entries()
    counters.replay([], [])
    after = counters.entries()
    assert 0 < before - after < before
    for _ in range(len(counters._stripes)):
        counters.replay([], [])
    assert counters.entries() == 0
