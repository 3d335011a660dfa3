"""Local calendar facts per campaign zone, and their per-quarter-hour cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backbeat.serving.localtime import LocalTimes, local_day, local_time, zone


def test_local_day_is_the_campaign_date() -> None:
    t = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)
    assert local_day("UTC", t) == "2026-03-10"
    assert local_day("America/Los_Angeles", t) == "2026-03-09"
    assert local_day("Asia/Kathmandu", datetime(2026, 3, 10, 18, 14, tzinfo=UTC)) == "2026-03-10"
    assert local_day("Asia/Kathmandu", datetime(2026, 3, 10, 18, 15, tzinfo=UTC)) == "2026-03-11"
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day("UTC", datetime(2026, 3, 10))


def test_day_bounds_follow_dst() -> None:
    # New York springs forward on 2026-03-08: that local day lasts 23 hours.
    lt = local_time(zone("America/New_York"), datetime(2026, 3, 8, 17, tzinfo=UTC).timestamp())
    assert (lt.day, lt.weekday, lt.hour) == ("2026-03-08", 6, 13)
    assert lt.day_end - lt.day_start == 23 * 3600
    assert lt.day_start == datetime(2026, 3, 8, 5, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "tz",
    [
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "Australia/Lord_Howe",
    ],
)
def test_cache_agrees_with_direct_computation_around_dst(tz: str) -> None:
    cache = LocalTimes()
    # Every 7 minutes over two weeks that include the March and April DST changes.
    start = datetime(2026, 3, 25, tzinfo=UTC).timestamp()
    for step in range(0, 14 * 24 * 60, 7):
        t = start + step * 60 + 13
        assert cache.get(tz, t) == local_time(zone(tz), t), (tz, t)
    # A second pass is served from the cache and must agree too.
    for step in range(0, 14 * 24 * 60, 7):
        t = start + step * 60 + 59
        assert cache.get(tz, t) == local_time(zone(tz), t), (tz, t)


def test_cache_key_is_a_quarter_hour() -> None:
    cache = LocalTimes()
    t = datetime(2026, 3, 10, 14, 59, 59, tzinfo=UTC).timestamp()
    before = cache.get("Asia/Kathmandu", t)  # 20:44:59 local
    after = cache.get("Asia/Kathmandu", t + timedelta(seconds=1).total_seconds())  # 20:45
    assert before.hour == 20 and after.hour == 20
    t2 = datetime(2026, 3, 10, 15, 14, 59, tzinfo=UTC).timestamp()  # 20:59:59 local
    assert cache.get("Asia/Kathmandu", t2).hour == 20
    assert cache.get("Asia/Kathmandu", t2 + 1).hour == 21
