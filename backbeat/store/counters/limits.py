"""Limits and argument checks shared by every Counters backend.

Both backends apply the same bounds so that a contract test passes against either: a day
bucket lives for `DAY_BUCKET_TTL_S` after its last write, and a per-visitor time series
(exposures, engagements) keeps at most `MAX_SERIES` entries, dropping the oldest.
"""

from __future__ import annotations

from backbeat.errors import ValidationFailed

# A campaign reads only "today" (in its own zone); three days covers every zone offset and
# a late write around midnight, and keeps Redis and memory from accumulating old buckets.
DAY_BUCKET_TTL_S = 3 * 86_400

# Caps are at most 1000 impressions and audience rules at most 1000 engagements, so 10k
# entries per (visitor, key) never changes an answer and bounds what one visitor can cost.
MAX_SERIES = 10_000

MAX_KEY_CHARS = 512


def check_positive(name: str, value: int) -> int:
    """A window or TTL in whole seconds, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed.one(name, f"must be a whole number of seconds >= 1, got {value!r}")
    return value


def check_micros(value: int) -> int:
    """Spend added to a counter: a non-negative integer of micros."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed.one("micros", f"must be a non-negative integer, got {value!r}")
    return value


def check_key(name: str, value: str) -> str:
    """A caller-chosen key or visitor id: non-empty text of bounded length."""
    if not isinstance(value, str) or not value:
        raise ValidationFailed.one(name, "must be a non-empty string")
    if len(value) > MAX_KEY_CHARS:
        raise ValidationFailed.one(name, f"at most {MAX_KEY_CHARS} characters")
    return value


def check_day(day: str) -> str:
    """The caller's day label (e.g. 2026-11-28 in the campaign's zone)."""
    if not isinstance(day, str) or not day or len(day) > 32:
        raise ValidationFailed.one("day", "must be a day label such as 2026-11-28")
    return day
