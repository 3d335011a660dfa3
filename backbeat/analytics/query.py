"""The report query: plain, immutable data, validated once at the boundary.

A :class:`Query` says which metrics to compute over which period, seen from which IANA time
zone, bucketed how, broken down by which dimensions and restricted by which filters.
:meth:`Query.parse` turns the strings of an API request or a CLI into enums and typed values
and reports every problem as :class:`~backbeat.errors.ValidationFailed` naming the field.

Period: ``start``/``end`` are either dates (both inclusive, local days in the zone) or
datetimes (``end`` exclusive; naive ones are local wall time in the zone).

Tenancy: :meth:`Query.scoped` adds a mandatory filter on the advertiser or publisher. Scopes
are kept apart from user filters and every one is ANDed into the SQL, so no user filter can
widen them; :meth:`Query.parse` refuses a ``scope`` key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import TypeVar, cast
from zoneinfo import ZoneInfo, available_timezones

from backbeat.analytics.dimensions import Dimension, FilterValue, check_filter_values
from backbeat.analytics.metrics import Metric
from backbeat.analytics.periods import Granularity, Period, to_naive_utc
from backbeat.domain.rules import Problems
from backbeat.errors import ValidationFailed

MAX_RANGE_DAYS = 5 * 365 + 2  # five years, leap days included
MAX_BUCKETS = 10_000  # per series: about 416 days of hours
_BUCKET_LENGTH = {
    Granularity.HOUR: timedelta(hours=1),
    Granularity.DAY: timedelta(days=1),
    Granularity.WEEK: timedelta(days=7),
}
DEFAULT_METRICS = (Metric.IMPRESSIONS, Metric.CLICKS, Metric.CTR, Metric.SPEND)
_KEYS = (
    "start", "end", "timezone", "granularity", "dimensions", "filters", "metrics",
    "compare_previous", "include_invalid",
)  # fmt: skip
_zone_cache: dict[str, ZoneInfo] = {}
E = TypeVar("E", Granularity, Dimension, Metric)


def zone_for(name: object, field_name: str = "timezone") -> ZoneInfo:
    """The IANA zone called `name`, or ValidationFailed naming `field_name`."""
    if not isinstance(name, str) or not name:
        raise ValidationFailed.one(field_name, "must be an IANA time zone name such as UTC")
    if name in _zone_cache:
        return _zone_cache[name]
    if name not in available_timezones():
        raise ValidationFailed.one(field_name, f"{name[:60]!r} is not an IANA time zone name")
    _zone_cache[name] = ZoneInfo(name)
    return _zone_cache[name]


@dataclass(frozen=True)
class Filter:
    """Keep only rows whose `dimension` takes one of `values`."""

    dimension: Dimension
    values: frozenset[FilterValue]


@dataclass(frozen=True)
class Scope:
    """A tenant restriction: `dimension` (advertiser or publisher) must equal `value`."""

    dimension: Dimension
    value: int


@dataclass(frozen=True)
class Query:
    """One report request. Build it with :meth:`parse` from untyped input, or directly."""

    start: date | datetime
    end: date | datetime
    metrics: tuple[Metric, ...] = DEFAULT_METRICS
    timezone: str = "UTC"
    granularity: Granularity = Granularity.NONE
    dimensions: tuple[Dimension, ...] = ()
    filters: tuple[Filter, ...] = ()
    compare_previous: bool = False
    include_invalid: bool = False
    scopes: tuple[Scope, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = Problems()
        _check_range(self.start, self.end, problems)
        try:
            zone_for(self.timezone)
        except ValidationFailed as exc:
            problems.capture(exc)
        problems.check(bool(self.metrics), "metrics", "name at least one metric")
        problems.check(
            len(set(self.dimensions)) == len(self.dimensions), "dimensions", "repeated dimension"
        )
        problems.check(len(set(self.metrics)) == len(self.metrics), "metrics", "repeated metric")
        seen = [f.dimension for f in self.filters]
        problems.check(len(set(seen)) == len(seen), "filters", "one filter per dimension")
        for f in self.filters:
            try:
                name = f"filters.{f.dimension}"
                check_filter_values(f.dimension, sorted(f.values, key=str), name)
            except ValidationFailed as exc:
                problems.capture(exc)
        problems.raise_if_any()
        if self.granularity is not Granularity.NONE:
            p = self.period
            n = (p.end - p.start) / _BUCKET_LENGTH[self.granularity]
            if n > MAX_BUCKETS:
                raise ValidationFailed.one(
                    "granularity",
                    f"{self.granularity} makes about {n:,.0f} buckets over this range; at most "
                    f"{MAX_BUCKETS:,}: use a coarser granularity or a shorter range",
                )

    # --- derived -------------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return zone_for(self.timezone)

    @cached_property
    def period(self) -> Period:
        """The query's period as naive UTC bounds [start, end) in its zone."""
        return Period(_utc_bound(self.start, self.zone), _utc_end(self.end, self.zone), self.zone)

    def filter_for(self, dimension: Dimension) -> Filter | None:
        return next((f for f in self.filters if f.dimension is dimension), None)

    def previous(self) -> Query:
        """The same query over the period of equal length just before this one."""
        if not isinstance(self.start, datetime) and not isinstance(self.end, datetime):
            days = (self.end - self.start).days + 1
            start = self.start - timedelta(days=days)
            end = self.start - timedelta(days=1)
        else:
            length = _as_instant(self.end, self.zone) - _as_instant(self.start, self.zone)
            start = _as_instant(self.start, self.zone) - length
            end = _as_instant(self.start, self.zone)
        return dataclasses.replace(self, start=start, end=end, compare_previous=False)

    def scoped(self, *, advertiser_id: int | None = None, publisher_id: int | None = None) -> Query:
        """This query restricted to one tenant. Scopes only ever narrow: scoping again adds
        another restriction, and user filters are ANDed with every scope."""
        added: list[Scope] = []
        for dim, value in (
            (Dimension.ADVERTISER, advertiser_id),
            (Dimension.PUBLISHER, publisher_id),
        ):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationFailed.one(f"{dim}_id", "must be a positive integer")
            added.append(Scope(dim, value))
        if not added:
            raise ValidationFailed.one("scope", "give advertiser_id or publisher_id")
        return dataclasses.replace(self, scopes=(*self.scopes, *added))

    # --- boundary ------------------------------------------------------------------------
    @classmethod
    def parse(cls, data: Mapping[str, object]) -> Query:
        """Build a query from strings and lists (an API body or CLI options)."""
        if not isinstance(data, Mapping):
            raise ValidationFailed.one("query", "must be an object")
        problems = Problems()
        for key in data:
            if key not in _KEYS:
                problems.add(str(key)[:40], "unknown field")
        tz = data.get("timezone", "UTC")
        zone = None
        try:
            zone = zone_for(tz)
        except ValidationFailed as exc:
            problems.capture(exc)
        start = _parse_when(data.get("start"), "start", problems)
        end = _parse_when(data.get("end"), "end", problems)
        if start is not None and end is not None:
            if isinstance(start, datetime) != isinstance(end, datetime):
                problems.add("end", "give start and end both as dates or both as datetimes")
            else:
                _check_range(start, end, problems, zone)
        granularity = _parse_enum(
            data.get("granularity", "none"), Granularity, "granularity", problems
        )
        dimensions = _parse_list(data.get("dimensions", ()), Dimension, "dimensions", problems)
        metrics = _parse_list(
            data.get("metrics", list(DEFAULT_METRICS)), Metric, "metrics", problems
        )
        filters = _parse_filters(data.get("filters", {}), problems)
        compare = _parse_bool(data.get("compare_previous", False), "compare_previous", problems)
        invalid = _parse_bool(data.get("include_invalid", False), "include_invalid", problems)
        problems.raise_if_any()
        assert start is not None and end is not None and granularity is not None
        return cls(
            start=start, end=end, metrics=tuple(metrics), timezone=cast(str, tz),
            granularity=granularity, dimensions=tuple(dimensions), filters=filters,
            compare_previous=compare, include_invalid=invalid,
        )  # fmt: skip

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready echo; without ``scope`` it parses back to an equal query."""
        out: dict[str, object] = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "granularity": self.granularity.value,
            "dimensions": [d.value for d in self.dimensions],
            "filters": {f.dimension.value: sorted(f.values, key=str) for f in self.filters},
            "metrics": [m.value for m in self.metrics],
            "compare_previous": self.compare_previous,
            "include_invalid": self.include_invalid,
        }
        if self.scopes:
            out["scope"] = {f"{s.dimension}_id": s.value for s in self.scopes}
        return out


# --- helpers -----------------------------------------------------------------------------


def _as_instant(when: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(when, datetime):
        return when if when.tzinfo is not None else when.replace(tzinfo=zone)
    return datetime.combine(when, time(), tzinfo=zone)


def _utc_bound(when: date | datetime, zone: ZoneInfo) -> datetime:
    return to_naive_utc(_as_instant(when, zone))


def _utc_end(when: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(when, datetime):
        return _utc_bound(when, zone)
    return _utc_bound(when + timedelta(days=1), zone)  # inclusive end date


def _check_range(
    start: object, end: object, problems: Problems, zone: ZoneInfo | None = None
) -> None:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, date):
            problems.add(name, "must be a date or datetime")
            return
    assert isinstance(start, date) and isinstance(end, date)
    if isinstance(start, datetime) != isinstance(end, datetime):
        problems.add("end", "give start and end both as dates or both as datetimes")
        return
    if isinstance(start, datetime) and isinstance(end, datetime):
        z = zone or ZoneInfo("UTC")
        span = _as_instant(end, z) - _as_instant(start, z)
        if span <= timedelta(0):
            problems.add("end", "must be after start")
        elif span > timedelta(days=MAX_RANGE_DAYS):
            problems.add("end", f"the range is longer than {MAX_RANGE_DAYS} days (5 years)")
        return
    days = (end - start).days + 1
    if days < 1:
        problems.add("end", "must not be before start")
    elif days > MAX_RANGE_DAYS:
        problems.add("end", f"the range is longer than {MAX_RANGE_DAYS} days (5 years)")


def _parse_when(value: object, name: str, problems: Problems) -> date | datetime | None:
    if value is None:
        problems.add(name, "is required (YYYY-MM-DD or an ISO 8601 datetime)")
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        problems.add(name, "must be YYYY-MM-DD or an ISO 8601 datetime")
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        problems.add(name, f"{text[:40]!r} is not YYYY-MM-DD or an ISO 8601 datetime")
        return None


def _parse_enum(value: object, enum: type[E], name: str, problems: Problems) -> E | None:
    if isinstance(value, enum):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text is None or text not in enum._value2member_map_:
        choices = ", ".join(m.value for m in enum)
        problems.add(name, f"{str(value)[:40]!r} is not one of {choices}")
        return None
    return enum(text)


def _parse_list(value: object, enum: type[E], name: str, problems: Problems) -> list[E]:
    items: list[object]
    if isinstance(value, str):
        items = [p for p in value.split(",") if p.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        problems.add(name, "must be a list of names")
        return []
    out: list[E] = []
    for i, item in enumerate(items):
        parsed = _parse_enum(item, enum, f"{name}[{i}]", problems)
        if parsed is not None and parsed not in out:
            out.append(parsed)
    return out


def _parse_bool(value: object, name: str, problems: Problems) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    problems.add(name, "must be true or false")
    return False


def _parse_filters(value: object, problems: Problems) -> tuple[Filter, ...]:
    if not isinstance(value, Mapping):
        problems.add("filters", "must map dimension names to lists of values")
        return ()
    out: list[Filter] = []
    for key, raw in value.items():
        dim = _parse_enum(key, Dimension, "filters", problems)
        if dim is None:
            continue
        try:
            out.append(Filter(dim, check_filter_values(dim, raw, f"filters.{dim}")))
        except ValidationFailed as exc:
            problems.capture(exc)
    order = list(Dimension)
    return tuple(sorted(out, key=lambda f: order.index(f.dimension)))
