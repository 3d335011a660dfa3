"""Local calendar facts (day label, weekday, hour, day bounds) in a campaign's time zone.

Dayparting, daily budgets and daily pacing all speak the campaign's local time. Converting
a timestamp with zoneinfo costs about a microsecond, so :class:`LocalTimes` caches the
answer per UTC quarter hour: every UTC offset in use today is a whole multiple of 15 minutes
(Nepal +05:45, Chatham +12:45), and DST changes at a whole local quarter hour, so the local
date, weekday and hour cannot change inside an aligned 900-second block. Offsets that are not
a multiple of 15 minutes (historical LMT) are computed every time, never cached.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

BLOCK_S = 900
_MAX_CACHED = 4096


@cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The ZoneInfo for an IANA name (cached; raises ZoneInfoNotFoundError if unknown)."""
    return zoneinfo.ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class LocalTime:
    """Calendar facts at one moment in one zone."""

    day: str  # ISO date label, e.g. "2026-11-28": the key of the daily spend bucket
    weekday: int  # 0 = Monday … 6 = Sunday
    hour: int  # 0–23
    day_start: float  # epoch seconds of local midnight that began this day
    day_end: float  # epoch seconds of the next local midnight (23 h or 25 h away on DST days)


def local_time(tz: zoneinfo.ZoneInfo, epoch: float) -> LocalTime:
    """Compute the local calendar facts of `epoch` (UTC seconds) in `tz`, uncached."""
    local = datetime.fromtimestamp(epoch, tz)
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
    following = midnight.date() + timedelta(days=1)
    next_midnight = datetime(following.year, following.month, following.day, tzinfo=tz)
    return LocalTime(
        day=local.date().isoformat(),
        weekday=local.weekday(),
        hour=local.hour,
        day_start=midnight.timestamp(),
        day_end=next_midnight.timestamp(),
    )


def local_day(timezone: str, when: datetime) -> str:
    """The day label ("YYYY-MM-DD") of `when` in the campaign's zone.

    Tracking must use this same label when it adds spend (``Counters.add_spend``), so that
    the daily budget the decider reads and the one tracking writes are the same bucket."""
    if when.tzinfo is None:
        raise ValueError("`when` must be timezone-aware")
    return when.astimezone(zone(timezone)).date().isoformat()


class LocalTimes:
    """A bounded cache of :func:`local_time` per (zone, UTC quarter hour). Thread-safe: the
    worst race computes the same value twice."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], LocalTime] = {}

    def get(self, timezone: str, epoch: float) -> LocalTime:
        key = (timezone, int(epoch // BLOCK_S))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        tz = zone(timezone)
        value = local_time(tz, epoch)
        offset = datetime.fromtimestamp(epoch, UTC).astimezone(tz).utcoffset()
        if offset is not None and offset.total_seconds() % BLOCK_S == 0:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[key] = value
        return value
