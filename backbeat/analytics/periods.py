"""Reporting periods in a time zone: UTC bounds, UTC-offset segments and time buckets.

Events are stored with naive UTC timestamps. A report in another zone needs each event's
local time, which is its UTC time plus the zone's offset *at that instant*. Rather than
asking the database to look zones up row by row (DuckDB's ICU ``timezone()`` is about six
times slower than arithmetic over 10M rows, and ClickHouse needs a constant zone name), the
period lists its offset **segments**: the UTC instants where the offset changes inside the
period and the offset in force from each. The SQL builder turns them into a ``CASE`` of
bound parameters, and this module enumerates buckets from the same segments, so SQL
buckets and zero-filled buckets agree by construction, whatever tzdata the database has.

Buckets: ``DAY`` is the local date, ``WEEK`` the local date of its Monday (ISO weeks),
``HOUR`` the naive UTC instant at which the local hour starts (unambiguous across a DST
fall-back, where two local hours share a wall-clock label).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)
_SAMPLE = timedelta(hours=6)  # offsets in force for less than this could be missed


class Granularity(StrEnum):
    NONE = "none"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


Bucket = date | datetime | None


@dataclass(frozen=True)
class Segment:
    """From `start` (naive UTC) on, local time is UTC + `offset` seconds."""

    start: datetime
    offset: int


def to_naive_utc(moment: datetime) -> datetime:
    """An aware datetime as naive UTC (the stored form of ``ts``)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def offset_at(zone: ZoneInfo, utc: datetime) -> int:
    """The zone's UTC offset in seconds at the naive UTC instant `utc`."""
    off = utc.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    assert off is not None  # a ZoneInfo always knows its offset
    return int(off.total_seconds())


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Period:
    """The half-open UTC interval [`start`, `end`) (naive UTC) seen from `zone`."""

    start: datetime
    end: datetime
    zone: ZoneInfo

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        """Offset segments covering the period; the first starts at `start`."""
        out = [Segment(self.start, offset_at(self.zone, self.start))]
        probe = self.start
        while probe < self.end:
            nxt = min(probe + _SAMPLE, self.end)
            if offset_at(self.zone, nxt) != out[-1].offset:
                change = self._transition(probe, nxt)
                out.append(Segment(change, offset_at(self.zone, change)))
            probe = nxt
        # A change exactly at `end` lies outside the period.
        return tuple(s for s in out if s.start < self.end or s is out[0])

    def _transition(self, before: datetime, after: datetime) -> datetime:
        """The first instant (to the second) in (before, after] with the offset of `after`."""
        target = offset_at(self.zone, after)
        lo, hi = before, after
        while hi - lo > timedelta(seconds=1):
            mid = lo + (hi - lo) / 2
            mid = mid.replace(microsecond=0)
            if mid <= lo:
                break
            if offset_at(self.zone, mid) == target:
                hi = mid
            else:
                lo = mid
        return hi

    @property
    def whole_hours(self) -> bool:
        """True when every offset is a whole number of hours and both ends fall on UTC hours:
        then each UTC hour lies inside one local hour, day and week, and the hourly rollup
        can answer."""
        return (
            all(s.offset % 3600 == 0 for s in self.segments)
            and floor_hour(self.start) == self.start
            and floor_hour(self.end) == self.end
        )

    def offset(self, utc: datetime) -> int:
        """The offset in force at `utc` according to the segments."""
        current = self.segments[0].offset
        for seg in self.segments[1:]:
            if utc < seg.start:
                break
            current = seg.offset
        return current

    def local(self, utc: datetime) -> datetime:
        """Naive local wall time of the naive UTC instant `utc`."""
        return utc + timedelta(seconds=self.offset(utc))

    def bucket_of(self, utc: datetime, granularity: Granularity) -> Bucket:
        """The bucket holding the naive UTC instant `utc` (what the SQL computes)."""
        if granularity is Granularity.NONE:
            return None
        if granularity is Granularity.HOUR:
            off = timedelta(seconds=self.offset(utc))
            return floor_hour(utc + off) - off
        day = self.local(utc).date()
        if granularity is Granularity.DAY:
            return day
        return day - timedelta(days=day.weekday())

    def buckets(self, granularity: Granularity) -> list[Bucket]:
        """Every bucket that overlaps the period, in order."""
        if granularity is Granularity.NONE:
            return [None]
        last = self.end - timedelta(microseconds=1)
        if granularity is Granularity.HOUR:
            return self._hours(last)
        first_day, last_day = self.local(self.start).date(), self.local(last).date()
        step = timedelta(days=1)
        if granularity is Granularity.WEEK:
            first_day -= timedelta(days=first_day.weekday())
            last_day -= timedelta(days=last_day.weekday())
            step = timedelta(days=7)
        out: list[Bucket] = []
        day = first_day
        while day <= last_day:
            out.append(day)
            day += step
        return out

    def _hours(self, last: datetime) -> list[Bucket]:
        out: list[Bucket] = []
        current = self.bucket_of(self.start, Granularity.HOUR)
        assert isinstance(current, datetime)
        while current <= last:
            out.append(current)
            probe = current + HOUR
            nxt = self.bucket_of(probe, Granularity.HOUR)
            # A local hour longer than an hour (a half-hour DST shift): step past it.
            while nxt == current:
                probe += timedelta(minutes=30)
                nxt = self.bucket_of(probe, Granularity.HOUR)
            assert isinstance(nxt, datetime)
            current = nxt
        return out

