"""SQL generation for reports, shared by every dialect.

The builder turns a :class:`~backbeat.analytics.query.Query` into one or two
:class:`Statement`: a ``SELECT`` grouped by the time bucket and the dimensions, with one
column per base aggregate. It is the only place SQL is written for analytics, and it keeps
two rules:

* **Values are bound, never interpolated.** Dates, offsets, filter values and scopes go
  through :class:`Params`, which emits the dialect's placeholder. Identifiers come only from
  fixed maps keyed by enums (:data:`~backbeat.analytics.dimensions.COLUMNS`), and the only
  literals are event-type, attribution and visitor constants from code, checked against a
  strict pattern.
* **The smallest table that gives the same answer.** Additive bases are read from the
  first hourly rollup (:data:`~backbeat.store.events.schema.ROLLUPS`, smallest first;
  today one, ``events_hourly``: campaign, creative, advertiser, objective, format, size,
  drop reason, attribution) that holds every grouped, filtered and scoped dimension, when
  each UTC hour lies inside one local bucket (whole-hour offsets and hour-aligned bounds;
  see :attr:`Period.whole_hours`). Anything else (site, placement, publisher, country,
  device, genre, genre match, a half-hour zone) reads ``events``. Reach (distinct
  visitors) always reads ``events``. A query needing both gets two statements over the
  same keys, which the runner merges.

Time buckets use the period's UTC-offset segments (see :mod:`backbeat.analytics.periods`):
local time is ``ts`` plus the offset in force, chosen by a ``CASE`` over bound transition
instants, so buckets are computed with arithmetic only.
"""

from __future__ import annotations

import itertools
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from backbeat.analytics.dimensions import COLUMNS, Dimension, FilterValue
from backbeat.analytics.metrics import BASES, Base, BaseSpec, Measure, Validity
from backbeat.analytics.periods import Granularity, Period
from backbeat.analytics.query import Query
from backbeat.domain.events import EventType
from backbeat.store.events.schema import ROLLUPS, Rollup
from backbeat.tracking.visitor import ANONYMOUS

EVENTS_TABLE = "events"
_LITERAL_RE = re.compile(r"[a-z_]{1,32}")


def literal(text: str) -> str:
    """A quoted SQL string for a constant from code (never for input)."""
    if not _LITERAL_RE.fullmatch(text):
        raise ValueError(f"not a safe SQL constant: {text!r}")
    return f"'{text}'"


@dataclass(frozen=True)
class Statement:
    """One generated query. Its rows are `keys` key columns (the bucket first when the
    query is bucketed, then one per dimension) followed by one column per base, in order.

    `params` are positional. DuckDB's SQL uses ``?``; ClickHouse's uses typed names
    ``{p0:Int64}``, ``{p1:String}``…, where ``pN`` is ``params[N]``."""

    sql: str
    params: tuple[object, ...]
    keys: int
    bases: tuple[Base, ...]
    table: str


class Params:
    """Collects bound values in the order their placeholders are written."""

    def __init__(self, builder: SqlBuilder) -> None:
        self._builder = builder
        self.values: list[object] = []

    def __call__(self, value: object) -> str:
        index = len(self.values)
        self.values.append(value)
        return self._builder.placeholder(index, value)


@dataclass(frozen=True)
class Grouping:
    """What one statement groups by and computes, over which period."""

    period: Period
    granularity: Granularity
    dimensions: tuple[Dimension, ...]
    bases: tuple[Base, ...]


class SqlBuilder(ABC):
    """Dialect-neutral statement assembly; subclasses supply the dialect's expressions."""

    dialect: str = ""

    # --- dialect hooks -------------------------------------------------------------------
    @abstractmethod
    def placeholder(self, index: int, value: object) -> str:
        """The placeholder for the `index`-th parameter holding `value`."""

    @abstractmethod
    def count_if(self, cond: str) -> str: ...

    @abstractmethod
    def sum_if(self, column: str, cond: str) -> str: ...

    @abstractmethod
    def distinct_if(self, column: str, cond: str) -> str: ...

    @abstractmethod
    def is_valid(self, valid: bool) -> str:
        """A condition on the `valid` column."""

    @abstractmethod
    def no_null(self, column: str) -> str:
        """`column` with NULL read as the empty string."""

    @abstractmethod
    def shift(self, column: str, seconds: str) -> str:
        """`column` (a timestamp) plus an integer number of seconds."""

    @abstractmethod
    def day(self, local: str) -> str: ...

    @abstractmethod
    def monday(self, local: str) -> str: ...

    @abstractmethod
    def hour(self, local: str) -> str: ...

    # --- assembly ------------------------------------------------------------------------
    def statements(
        self, query: Query, grouping: Grouping, *, use_rollup: bool = True
    ) -> list[Statement]:
        """The statements computing `grouping.bases` for `query`'s filters and scopes."""
        rollup = self.rollup_for(query, grouping) if use_rollup else None
        from_rollup = tuple(
            b for b in grouping.bases if rollup is not None and _rollup_has(rollup, BASES[b])
        )
        from_events = tuple(b for b in grouping.bases if b not in from_rollup)
        out = []
        if from_rollup:
            out.append(self._statement(query, grouping, from_rollup, rollup))
        if from_events:
            out.append(self._statement(query, grouping, from_events, None))
        return out

    @staticmethod
    def rollup_for(query: Query, grouping: Grouping) -> Rollup | None:
        """The smallest rollup holding every dimension the query groups, filters or is
        scoped by, when hour boundaries line up with the buckets and the period."""
        if not grouping.period.whole_hours:
            return None
        used = {*grouping.dimensions, *(f.dimension for f in query.filters)}
        used |= {s.dimension for s in query.scopes}
        columns = {COLUMNS[d] for d in used}
        return next((r for r in ROLLUPS if columns <= set(r.dimensions)), None)

    @classmethod
    def rollup_can_answer(cls, query: Query, grouping: Grouping) -> bool:
        """True when some rollup can answer the query's additive bases."""
        return cls.rollup_for(query, grouping) is not None

    def _statement(
        self, query: Query, grouping: Grouping, bases: tuple[Base, ...], rollup: Rollup | None
    ) -> Statement:
        p = Params(self)
        table = EVENTS_TABLE if rollup is None else rollup.table
        ts = "ts" if rollup is None else "hour"
        keys: list[str] = []
        if grouping.granularity is not Granularity.NONE:
            keys.append(self._bucket(ts, grouping.period, grouping.granularity, p))
        for dim in grouping.dimensions:
            column = COLUMNS[dim]
            keys.append(self.no_null(column) if dim is Dimension.DROP_REASON else column)
        specs = [BASES[b] for b in bases]
        aggs = [self._aggregate(s, rollup is not None, query.include_invalid) for s in specs]
        where = self._where(query, grouping.period, specs, ts, p)
        select = [f"{k} AS k{i}" for i, k in enumerate(keys)] + aggs
        sql = f"SELECT {', '.join(select)} FROM {table} WHERE {' AND '.join(where)}"
        if keys:
            sql += " GROUP BY " + ", ".join(f"k{i}" for i in range(len(keys)))
        return Statement(sql, tuple(p.values), len(keys), bases, table)

    def _bucket(self, ts: str, period: Period, granularity: Granularity, p: Params) -> str:
        segments = period.segments
        if granularity is Granularity.HOUR and period.whole_hours:
            return self.hour(ts)  # each UTC hour is one local hour
        if len(segments) == 1:
            offset = segments[0].offset
            local = ts if offset == 0 else self.shift(ts, p(offset))
        else:
            local = self.shift(ts, self._offset_case(ts, period, p))
        if granularity is Granularity.DAY:
            return self.day(local)
        if granularity is Granularity.WEEK:
            return self.monday(local)
        # A zone with a fractional offset: the UTC instant at which the local hour starts.
        back = self._offset_case(ts, period, p) if len(segments) > 1 else p(segments[0].offset)
        return self.shift(self.hour(local), f"-({back})")

    def _offset_case(self, ts: str, period: Period, p: Params) -> str:
        segments = period.segments
        if len(segments) == 1:
            return p(segments[0].offset)
        parts = ["CASE"]
        for seg, nxt in itertools.pairwise(segments):
            parts.append(f"WHEN {ts} < {p(nxt.start)} THEN {p(seg.offset)}")
        parts.append(f"ELSE {p(segments[-1].offset)} END")
        return " ".join(parts)

    def _condition(self, spec: BaseSpec, include_invalid: bool) -> str:
        conds = [self._types(spec.types)]
        if spec.validity is Validity.INVALID:
            conds.append(self.is_valid(False))
        elif spec.validity is Validity.VALID and not include_invalid:
            conds.append(self.is_valid(True))
        if spec.attribution is not None:
            conds.append(f"attribution = {literal(spec.attribution.value)}")
        if spec.measure is Measure.VISITORS:
            conds.append(f"visitor <> '' AND visitor <> {literal(ANONYMOUS)}")
        return " AND ".join(conds)

    def _aggregate(self, spec: BaseSpec, rollup: bool, include_invalid: bool) -> str:
        cond = self._condition(spec, include_invalid)
        if spec.measure is Measure.VISITORS:
            return self.distinct_if("visitor", cond)
        if spec.measure is Measure.PRICE:
            return self.sum_if("price_micros", cond)
        return self.sum_if("event_count", cond) if rollup else self.count_if(cond)

    @staticmethod
    def _types(types: Sequence[EventType]) -> str:
        if len(types) == 1:
            return f"type = {literal(types[0].value)}"
        return f"type IN ({', '.join(literal(t.value) for t in types)})"

    def _where(
        self, query: Query, period: Period, specs: list[BaseSpec], ts: str, p: Params
    ) -> list[str]:
        where = [f"{ts} >= {p(period.start)}", f"{ts} < {p(period.end)}"]
        types = sorted({t for s in specs for t in s.types}, key=list(EventType).index)
        where.append(self._types(types))
        validities = {s.validity for s in specs}
        if validities == {Validity.INVALID}:
            where.append(self.is_valid(False))
        elif validities == {Validity.VALID} and not query.include_invalid:
            where.append(self.is_valid(True))
        for scope in query.scopes:
            where.append(f"{COLUMNS[scope.dimension]} = {p(scope.value)}")
        for f in query.filters:
            values = sorted(f.values, key=_sort_key)
            holes = ", ".join(p(self.bind(v)) for v in values)
            where.append(f"{COLUMNS[f.dimension]} IN ({holes})")
        return where

    def bind(self, value: FilterValue) -> object:
        """A filter value as the dialect binds it."""
        return value


def _rollup_has(rollup: Rollup, spec: BaseSpec) -> bool:
    """True when `spec` can be summed from `rollup`: additive, and every column its
    condition reads is one of the rollup's dimensions."""
    return spec.additive and set(spec.columns) <= set(rollup.dimensions)


def _sort_key(value: FilterValue) -> tuple[str, str]:
    return (type(value).__name__, str(value))


def builder_for(dialect: str) -> SqlBuilder:
    """The SQL builder for an event store's `dialect` (``duckdb`` or ``clickhouse``)."""
    from backbeat.analytics.sql_clickhouse import ClickHouseBuilder
    from backbeat.analytics.sql_duckdb import DuckDBBuilder

    builders: dict[str, type[SqlBuilder]] = {
        "duckdb": DuckDBBuilder,
        "clickhouse": ClickHouseBuilder,
    }
    if dialect not in builders:
        raise ValueError(f"no SQL builder for dialect {dialect!r}")
    return builders[dialect]()
