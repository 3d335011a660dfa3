"""The event table's columns and the conversion between `Event` objects and Arrow tables.

Backend-neutral: DuckDB and ClickHouse both ingest Arrow, so this module owns the one
Python -> columnar conversion and the validation that comes with it. Converting column by
column lets pyarrow check types and ranges in C; only the failure path walks rows in Python
to name the first offending event.

Timestamps are stored as *naive UTC* (`TIMESTAMP` in DuckDB, `DateTime64(6, 'UTC')` in
ClickHouse): SQL such as ``date_trunc('hour', ts)`` then never depends on a session time
zone. Input may be naive (taken as UTC) or aware (converted to UTC); rows read back carry
``tzinfo=UTC``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backbeat.domain.events import Attribution, DropReason, Event, EventType
from backbeat.errors import ValidationFailed

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# (column, arrow type, nullable). Order is the table's column order and Event's field order.
COLUMNS: tuple[tuple[str, pa.DataType, bool], ...] = (
    ("id", pa.string(), False),
    ("ts", pa.timestamp("us"), False),
    ("type", pa.string(), False),
    ("valid", pa.bool_(), False),
    ("decision_id", pa.string(), False),
    ("campaign_id", pa.int64(), False),
    ("creative_id", pa.int64(), False),
    ("advertiser_id", pa.int64(), False),
    ("site_id", pa.int64(), False),
    ("publisher_id", pa.int64(), False),
    ("placement_id", pa.int64(), False),
    ("visitor", pa.string(), False),
    ("country", pa.string(), False),
    ("device", pa.string(), False),
    ("format", pa.string(), False),
    ("size", pa.string(), False),
    ("genre", pa.string(), False),
    ("genre_match", pa.bool_(), False),
    ("objective", pa.string(), False),
    ("price_micros", pa.int64(), False),
    ("drop_reason", pa.string(), True),
    ("attribution", pa.string(), True),
    ("value_micros", pa.int64(), False),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c[0] for c in COLUMNS)
ARROW_SCHEMA = pa.schema([pa.field(n, t, nullable=nl) for n, t, nl in COLUMNS])

ENUM_COLUMNS: dict[str, type[StrEnum]] = {
    "type": EventType,
    "drop_reason": DropReason,
    "attribution": Attribution,
}


@dataclass(frozen=True)
class Rollup:
    """An hourly rollup: event counts and money sums per UTC hour and `dimensions` (event
    columns). Nullable columns (`drop_reason`, `attribution`) hold ``''`` for none, so every
    key column is NOT NULL and one (hour, dimensions...) tuple is one row."""

    table: str
    dimensions: tuple[str, ...]


# The one rollup: what was bought, per hour. A rollup pays only when it has far fewer rows
# than the events, and the key decides that. On the 20M-event benchmark (2,000 campaigns,
# 600 placements, 30 days; docs/benchmarks.md section 5) the old 16-dimension key had 19.9M
# rows, and any key holding the campaign (or creative) *and* the site (or placement) still
# has 18.5-19.4M: one campaign rarely meets one placement twice in an hour. This key has
# 8.3M. Columns that are functions of another key column cost no rows (a creative has one
# format and size, a campaign one advertiser and objective). Every report grouped, filtered
# or scoped by these reads it, as does the server's warm-up of CTR and spend; everything
# else (site, placement, publisher, country, device, genre, genre match) reads `events`.
# A second, site-side rollup (publisher, site, placement, genre: 1.9M rows) made site
# reports 3-5x faster but cost 20-50% of the write throughput, so it is not kept.
CAMPAIGN_ROLLUP = Rollup(
    "events_hourly",
    (
        "campaign_id",
        "creative_id",
        "advertiser_id",
        "objective",
        "format",
        "size",
        "type",
        "valid",
        "drop_reason",
        "attribution",
    ),
)
# Every rollup the store maintains, smallest first (the order report SQL tries them in).
ROLLUPS: tuple[Rollup, ...] = (CAMPAIGN_ROLLUP,)
# The campaign-side rollup under its historical names.
ROLLUP_TABLE = CAMPAIGN_ROLLUP.table
ROLLUP_DIMENSIONS: tuple[str, ...] = CAMPAIGN_ROLLUP.dimensions
# Measures of every rollup: the number of events and the sums of the money columns.
ROLLUP_MEASURES: tuple[str, ...] = ("event_count", "price_micros", "value_micros")
# Rollup dimensions stored as '' where the event holds NULL.
ROLLUP_BLANK_FOR_NULL = frozenset(name for name, _, nullable in COLUMNS if nullable)


def naive_utc(ts: datetime) -> datetime:
    """`ts` as naive UTC, the stored form (naive input is already UTC by contract)."""
    tz = ts.tzinfo
    if tz is None:
        return ts
    if tz is UTC:
        return ts.replace(tzinfo=None)
    return ts.astimezone(UTC).replace(tzinfo=None)


def _columns(events: Sequence[Event]) -> list[Sequence[Any]]:
    """The events' values column by column, in :data:`COLUMNS` order (timestamps as naive
    UTC): one C-level getter per event rather than one getattr per field."""
    if not events:
        return [() for _ in COLUMNS]
    columns: list[Sequence[Any]] = list(zip(*map(_ROW, events), strict=True))
    columns[_TS] = [naive_utc(ts) if isinstance(ts, datetime) else ts for ts in columns[_TS]]
    return columns


def _first_bad(
    events: Sequence[Event], name: str, ok: Callable[[Any], bool]
) -> tuple[int, Any] | None:
    for i, e in enumerate(events):
        value = getattr(e, name)
        if not ok(value):
            return i, value
    return None


def _fail(events: Sequence[Event], name: str, ok: Callable[[Any], bool], reason: str) -> None:
    bad = _first_bad(events, name, ok)
    where = f"events[{bad[0]}].{name}" if bad else f"events.{name}"
    shown = f" (got {bad[1]!r:.60})" if bad else ""
    raise ValidationFailed.one(where, reason + shown)


def _text(v: Any) -> bool:
    """A str that encodes to UTF-8 (a lone surrogate does not, and would fail Arrow and JSON)."""
    if not isinstance(v, str):
        return False
    if v.isascii():
        return True
    try:
        v.encode()
    except UnicodeEncodeError:
        return False
    return True


def _checker(name: str, typ: pa.DataType, nullable: bool) -> tuple[Callable[[Any], bool], str]:
    """A per-value predicate (used only to locate an error) and the reason to report."""
    if name in ENUM_COLUMNS:
        allowed = {m.value for m in ENUM_COLUMNS[name]}
        reason = "must be one of " + ", ".join(sorted(allowed))
        if nullable:
            reason += " or None"
        return (lambda v: (v is None and nullable) or (isinstance(v, str) and v in allowed)), reason
    if name == "ts":
        return (lambda v: isinstance(v, datetime)), "must be a datetime (UTC)"
    if name == "id":
        return (lambda v: _text(v) and v != ""), "must be a non-empty UTF-8 string"
    if typ == pa.int64():

        def ok_int(v: Any) -> bool:
            return type(v) is int and INT64_MIN <= v <= INT64_MAX

        return ok_int, "must be an integer within the signed 64-bit range"
    if typ == pa.bool_():
        return (lambda v: type(v) is bool), "must be a bool"
    return _text, "must be a UTF-8 string"


_CHECKERS = {n: _checker(n, t, nl) for n, t, nl in COLUMNS}
_ROW = operator.attrgetter(*COLUMN_NAMES)
_TS = COLUMN_NAMES.index("ts")
_CHECK_LIST = [(n, *_CHECKERS[n]) for n in COLUMN_NAMES]


def validate_events(events: Sequence[Event]) -> None:
    """Check every field of every event in Python, as strictly as :func:`to_arrow` does.

    Cheap for small batches (a beacon's single event), where building Arrow arrays would cost
    far more than the check. Raises ValidationFailed naming the first bad event and field."""
    for i, e in enumerate(events):
        if not isinstance(e, Event):
            raise ValidationFailed.one(f"events[{i}]", "must be an Event")
        for name, ok, reason in _CHECK_LIST:
            value = getattr(e, name)
            if not ok(value):
                raise ValidationFailed.one(f"events[{i}].{name}", f"{reason} (got {value!r:.60})")


_ENUM_VALUES = {
    name: pa.array([m.value for m in enum], pa.string()) for name, enum in ENUM_COLUMNS.items()
}


def column_problem(
    name: str, typ: pa.DataType, nullable: bool, values: Sequence[Any], arr: pa.Array
) -> str | None:
    """The first rule of the event schema that column `name`, converted from `values` to
    `arr`, breaks; None when it keeps them all. Shared by :func:`to_arrow` and the ingest
    loop's spooled rows (``handoff.rows_to_arrow``), so both store only what the schema
    allows."""
    if arr.null_count and not nullable:
        return "missing"
    if typ == pa.int64() and not set(map(type, values)) <= {int}:
        return "not an integer"  # pyarrow truncates 1.5 -> 1 silently; money must be exact
    allowed = _ENUM_VALUES.get(name)
    if allowed is not None:
        member = pc.is_in(arr, value_set=allowed, skip_nulls=True)
        if not pc.all(pc.or_kleene(member, pc.is_null(arr))).as_py():
            return "not a known value"
    elif name == "id" and len(arr) and pc.min(pc.utf8_length(arr)).as_py() == 0:
        return "empty"
    return None


def to_arrow(events: Sequence[Event]) -> pa.Table:
    """Validate and convert events to an Arrow table with :data:`ARROW_SCHEMA`.

    Raises :class:`~backbeat.errors.ValidationFailed` naming the first bad event and field.
    """
    arrays: list[pa.Array] = []
    for (name, typ, nullable), values in zip(COLUMNS, _columns(events), strict=True):
        ok, reason = _CHECKERS[name]
        try:
            arr = pa.array(values, type=typ, from_pandas=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
            _fail(events, name, ok, reason)
            raise  # unreachable: _fail always raises; keeps the type checker honest
        if column_problem(name, typ, nullable, values, arr) is not None:
            _fail(events, name, ok, reason)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def row_to_event(row: Sequence[Any]) -> Event:
    """Rebuild an Event from a row selected as ``SELECT <COLUMN_NAMES> FROM events``."""
    values = dict(zip(COLUMN_NAMES, row, strict=True))
    ts = values["ts"]
    values["ts"] = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    values["type"] = EventType(values["type"])
    if values["drop_reason"] is not None:
        values["drop_reason"] = DropReason(values["drop_reason"])
    if values["attribution"] is not None:
        values["attribution"] = Attribution(values["attribution"])
    return Event(**values)


def _check_columns_match_event() -> None:
    names = tuple(f.name for f in fields(Event))
    if names != COLUMN_NAMES:  # the spool's positional encoding relies on this order
        raise RuntimeError(f"schema.COLUMNS is out of step with Event: {names}")


_check_columns_match_event()
