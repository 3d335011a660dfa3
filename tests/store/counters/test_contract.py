"""The Counters contract, run against MemoryCounters and RedisCounters alike."""

from __future__ import annotations

import threading

import pytest

from backbeat.errors import ValidationFailed
from backbeat.store.counters.protocol import Spend
from tests.store.counters.conftest import Harness

T0 = 1_764_000_000.0  # an epoch second in late 2025


def run_threads(n: int, fn: object) -> list[object]:
    """Start `n` threads together (a barrier) and return each one's result."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def work(i: int) -> None:
        barrier.wait()
        results[i] = fn()  # type: ignore[operator]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# spend ---------------------------------------------------------------------
def test_add_spend_returns_total_and_day_bucket(harness: Harness) -> None:
    c = harness.counters
    assert c.add_spend(7, "2026-11-27", 1_500) == Spend(1_500, 1_500)
    assert c.add_spend(7, "2026-11-27", 250) == Spend(1_750, 1_750)
    # A new day starts its own bucket; the total keeps counting.
    assert c.add_spend(7, "2026-11-28", 100) == Spend(1_850, 100)
    assert c.spend(7, "2026-11-27") == Spend(1_850, 1_750)
    assert c.spend(7, "2026-11-28") == Spend(1_850, 100)
    assert c.spend(8, "2026-11-28") == Spend(0, 0)


def test_spend_many_reads_every_candidate(harness: Harness) -> None:
    c = harness.counters
    c.add_spend(1, "d1", 10)
    c.add_spend(2, "d1", 20)
    c.add_spend(2, "d0", 5)
    got = c.spend_many([1, 2, 3], "d1")
    assert got == {1: Spend(10, 10), 2: Spend(25, 20), 3: Spend(0, 0)}
    assert c.spend_many([], "d1") == {}


def test_concurrent_spend_adds_up_exactly(harness: Harness) -> None:
    c = harness.counters

    def add_many() -> None:
        for _ in range(50):
            c.add_spend(4, "d", 3)

    run_threads(8, add_many)
    assert c.spend(4, "d") == Spend(8 * 50 * 3, 8 * 50 * 3)


def test_spend_rejects_negative_and_float_micros(harness: Harness) -> None:
    with pytest.raises(ValidationFailed) as err:
        harness.counters.add_spend(1, "d", -5)
    assert err.value.fields[0].field == "micros"
    with pytest.raises(ValidationFailed):
        harness.counters.add_spend(1, "d", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as err:
        harness.counters.add_spend(1, "", 5)
    assert err.value.fields[0].field == "day"
    assert harness.counters.spend(1, "d") == Spend(0, 0)


# exposures -----------------------------------------------------------------
def test_exposures_count_inside_the_sliding_window(harness: Harness) -> None:
    c = harness.counters
    assert c.record_exposure("v1", 5, T0, 60) == 1
    assert c.record_exposure("v1", 5, T0 + 10, 60) == 2
    assert c.record_exposure("v1", 5, T0 + 20, 60) == 3
    assert c.exposures("v1", [5], T0 + 30, 60) == {5: 3}
    # At T0+65 the first one (T0) has slid out; the boundary is exclusive.
    assert c.exposures("v1", [5], T0 + 65, 60) == {5: 2}
    assert c.exposures("v1", [5], T0 + 70, 60) == {5: 1}
    assert c.exposures("v1", [5], T0 + 80, 60) == {5: 0}


def test_record_exposure_drops_entries_outside_the_window(harness: Harness) -> None:
    c = harness.counters
    c.record_exposure("v1", 5, T0, 60)
    c.record_exposure("v1", 5, T0 + 1, 60)
    assert c.record_exposure("v1", 5, T0 + 60.5, 60) == 2  # T0 is out, T0+1 and T0+60.5 in
    assert c.record_exposure("v1", 5, T0 + 61, 60) == 2  # T0+1 is on the edge: out
    assert c.record_exposure("v1", 5, T0 + 500, 60) == 1


def test_exposures_are_per_visitor_and_campaign(harness: Harness) -> None:
    c = harness.counters
    c.record_exposure("v1", 5, T0, 3600)
    c.record_exposure("v1", 5, T0, 3600)  # same instant still counts twice
    c.record_exposure("v1", 6, T0, 3600)
    c.record_exposure("v2", 5, T0, 3600)
    assert c.exposures("v1", [5, 6, 7], T0 + 1, 3600) == {5: 2, 6: 1, 7: 0}
    assert c.exposures("v2", [5, 6], T0 + 1, 3600) == {5: 1, 6: 0}
    assert c.exposures("v3", [5], T0 + 1, 3600) == {5: 0}


def test_exposure_window_must_be_positive(harness: Harness) -> None:
    with pytest.raises(ValidationFailed) as err:
        harness.counters.record_exposure("v1", 5, T0, 0)
    assert err.value.fields[0].field == "window_s"
    with pytest.raises(ValidationFailed) as err:
        harness.counters.exposures("", [5], T0, 60)
    assert err.value.fields[0].field == "visitor"


# claims --------------------------------------------------------------------
def test_claim_is_true_once(harness: Harness) -> None:
    c = harness.counters
    assert c.claim("imp:abc", 60) is True
    assert c.claim("imp:abc", 60) is False
    assert c.claim("imp:abc", 60) is False
    assert c.claim("imp:abd", 60) is True


def test_claim_from_many_threads_has_one_winner(harness: Harness) -> None:
    c = harness.counters
    for round_no in range(5):
        results = run_threads(16, lambda k=f"race:{round_no}": c.claim(k, 60))
        assert results.count(True) == 1
        assert results.count(False) == 15


def test_claim_can_be_taken_again_after_it_expires(harness: Harness) -> None:
    c = harness.counters
    assert c.claim("short", 1) is True
    assert c.claim("short", 1) is False
    harness.advance(1.2)
    assert c.claim("short", 1) is True


def test_claimed_reads_a_claim_without_taking_it(harness: Harness) -> None:
    c = harness.counters
    assert c.claimed("imp:read") is False
    assert c.claimed("imp:read") is False  # reading twice claims nothing
    assert c.claim("imp:read", 1) is True
    assert c.claimed("imp:read") is True
    assert c.claimed("imp:other") is False
    harness.advance(1.2)
    assert c.claimed("imp:read") is False
    with pytest.raises(ValidationFailed) as err:
        c.claimed("")
    assert err.value.fields[0].field == "key"


def test_claim_checks_its_arguments(harness: Harness) -> None:
    with pytest.raises(ValidationFailed) as err:
        harness.counters.claim("k", 0)
    assert err.value.fields[0].field == "ttl_s"
    with pytest.raises(ValidationFailed) as err:
        harness.counters.claim("", 10)
    assert err.value.fields[0].field == "key"
    with pytest.raises(ValidationFailed):
        harness.counters.claim("x" * 600, 10)


# rate windows --------------------------------------------------------------
def test_hit_counts_within_a_fixed_window(harness: Harness) -> None:
    c = harness.counters
    start = 1_764_000_000.0  # divisible by 60: a window starts here
    assert c.hit("rate:v1", start, 60) == 1
    assert c.hit("rate:v1", start + 30, 60) == 2
    assert c.hit("rate:v1", start + 59.9, 60) == 3
    # The next window starts from zero.
    assert c.hit("rate:v1", start + 60, 60) == 1
    # Other keys and other window lengths are separate counters.
    assert c.hit("rate:v2", start + 60, 60) == 1
    assert c.hit("rate:v1", start + 60, 3600) == 1


def test_concurrent_hits_are_all_counted(harness: Harness) -> None:
    c = harness.counters
    results = run_threads(12, lambda: c.hit("burst", T0, 60))
    assert sorted(results) == list(range(1, 13))  # type: ignore[type-var]


# engagement ----------------------------------------------------------------
def test_engagement_count_within_window(harness: Harness) -> None:
    c = harness.counters
    day = 86_400
    c.add_member("clicked:9", "v1", T0, 30 * day)
    c.add_member("clicked:9", "v1", T0 + 5 * day, 30 * day)
    c.add_member("clicked:9", "v1", T0 + 6 * day, 30 * day)
    now = T0 + 7 * day
    assert c.engagement_count("clicked:9", "v1", now, 30 * day) == 3
    assert c.engagement_count("clicked:9", "v1", now, 3 * day) == 2
    assert c.engagement_count("clicked:9", "v1", now, 2 * day) == 1
    # The window is (now - window, now]: an engagement exactly one window old is out.
    assert c.engagement_count("clicked:9", "v1", now, 1 * day) == 0
    assert c.engagement_count("clicked:9", "v2", now, 30 * day) == 0
    assert c.engagement_count("viewed:9", "v1", now, 30 * day) == 0


def test_engagement_keys_do_not_collide(harness: Harness) -> None:
    c = harness.counters
    c.add_member("a:b", "c", T0, 3600)
    assert c.engagement_count("a", "b:c", T0, 3600) == 0
    assert c.engagement_count("a:b", "c", T0, 3600) == 1


def test_add_member_forgets_engagements_older_than_ttl(harness: Harness) -> None:
    c = harness.counters
    c.add_member("viewed:3", "v1", T0, 100)
    c.add_member("viewed:3", "v1", T0 + 200, 100)
    # The first entry fell out of its TTL when the second was written.
    assert c.engagement_count("viewed:3", "v1", T0 + 200, 10_000) == 1


def test_engagement_series_expires_with_its_ttl(harness: Harness) -> None:
    c = harness.counters
    c.add_member("viewed:4", "v1", T0, 1)
    assert c.engagement_count("viewed:4", "v1", T0, 10_000) == 1
    harness.advance(1.2)
    assert c.engagement_count("viewed:4", "v1", T0, 10_000) == 0
