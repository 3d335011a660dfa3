"""Periods in a zone: offset segments, the rollup condition, and bucket enumeration."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backbeat.analytics.periods import Granularity, Period, Segment

NY = ZoneInfo("America/New_York")


def test_segments_follow_dst_changes() -> None:
    p = Period(datetime(2026, 3, 1, 5), datetime(2026, 11, 30, 5), NY)
    assert p.segments == (
        Segment(datetime(2026, 3, 1, 5), -5 * 3600),
        Segment(datetime(2026, 3, 8, 7), -4 * 3600),
        Segment(datetime(2026, 11, 1, 6), -5 * 3600),
    )
    assert p.whole_hours
    assert p.local(datetime(2026, 3, 8, 6, 59)) == datetime(2026, 3, 8, 1, 59)
    assert p.local(datetime(2026, 3, 8, 7)) == datetime(2026, 3, 8, 3)


def test_fixed_zone_has_one_segment() -> None:
    p = Period(datetime(2026, 1, 1), datetime(2026, 12, 31), ZoneInfo("Asia/Tokyo"))
    assert p.segments == (Segment(datetime(2026, 1, 1), 9 * 3600),)


def test_fractional_offsets_and_unaligned_bounds_rule_out_the_rollup() -> None:
    kolkata = Period(datetime(2026, 3, 1), datetime(2026, 3, 2), ZoneInfo("Asia/Kolkata"))
    assert not kolkata.whole_hours
    unaligned = Period(datetime(2026, 3, 1, 0, 30), datetime(2026, 3, 2), ZoneInfo("UTC"))
    assert not unaligned.whole_hours


def test_buckets_across_spring_forward() -> None:
    p = Period(datetime(2026, 3, 8, 5), datetime(2026, 3, 9, 4), NY)  # Mar 8 in New York
    hours = p.buckets(Granularity.HOUR)
    assert len(hours) == 23
    assert hours[:3] == [datetime(2026, 3, 8, 5), datetime(2026, 3, 8, 6), datetime(2026, 3, 8, 7)]
    assert p.buckets(Granularity.DAY) == [date(2026, 3, 8)]
    assert p.buckets(Granularity.WEEK) == [date(2026, 3, 2)]
    assert p.buckets(Granularity.NONE) == [None]


def test_hour_buckets_in_a_half_hour_zone_start_at_half_past_utc() -> None:
    p = Period(datetime(2026, 3, 1, 18, 30), datetime(2026, 3, 1, 21, 30), ZoneInfo("Asia/Kolkata"))
    assert p.buckets(Granularity.HOUR) == [
        datetime(2026, 3, 1, 18, 30), datetime(2026, 3, 1, 19, 30), datetime(2026, 3, 1, 20, 30)]
    assert p.bucket_of(datetime(2026, 3, 1, 19, 29), Granularity.HOUR) == datetime(
        2026, 3, 1, 18, 30)


def test_bucket_of_agrees_with_buckets() -> None:
    p = Period(datetime(2026, 10, 25, 4), datetime(2026, 11, 8, 5), NY)
    for g in (Granularity.HOUR, Granularity.DAY, Granularity.WEEK):
        listed = p.buckets(g)
        t = p.start
        while t < p.end:
            assert p.bucket_of(t, g) in listed
            t += timedelta(minutes=37)
