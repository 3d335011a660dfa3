"""Run a report: generate SQL, execute it on the event store, and shape the result.

:func:`run` asks the store's dialect builder for the statements, runs them through
:meth:`EventStore.query`, merges them by key, fills every time bucket of the period with
zeros for each combination of dimension values that appears, derives every metric from the
registry with its interval, and, when asked, computes the previous period and the change of
each metric.

Totals: additive bases are the sum of the rows; reach is not additive (a visitor seen on two
days is one visitor of the two days), so when reach is asked for and the rows are grouped,
the totals get their own distinct count over the whole period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from itertools import product
from typing import Protocol

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import BASES, REGISTRY, Base, Metric, Value, bases_for
from backbeat.analytics.periods import Bucket, Granularity, Period
from backbeat.analytics.query import Query
from backbeat.analytics.result import Change, DimValue, Previous, Result, Row
from backbeat.analytics.sql import Grouping, SqlBuilder, builder_for
from backbeat.analytics.stats import Interval
from backbeat.store.events.protocol import EventStore

Key = tuple[object, ...]


class ReportSource(Protocol):
    """What a report needs of an event store: its dialect and `query` (every
    :class:`~backbeat.store.events.protocol.EventStore` qualifies)."""

    dialect: str

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


def _fits(store: EventStore) -> ReportSource:
    return store  # mypy proves every EventStore is a ReportSource
Aggregates = dict[Base, int]


def run(query: Query, store: ReportSource, *, use_rollup: bool = True) -> Result:
    """Compute `query` on `store`. `use_rollup=False` reads raw events only (for checks)."""
    fetch = _Fetcher(query, store, builder_for(store.dialect), use_rollup)
    bases = bases_for(query.metrics)
    period, gran, dims = query.period, query.granularity, query.dimensions
    grouped = gran is not Granularity.NONE or bool(dims)

    data = fetch(Grouping(period, gran, dims, bases))
    totals = _totals(fetch, period, bases, data, grouped)
    rows = _fill(data, period, gran, len(dims), grouped)

    changes: dict[Key, Mapping[Metric, Change]] = {}
    previous: Previous | None = None
    if query.compare_previous:
        prior = query.previous()
        pdata: dict[Key, Aggregates] = {}
        if gran is Granularity.NONE and dims:
            pdata = fetch(Grouping(prior.period, gran, dims, bases), prior)
        ptotals = _totals(fetch, prior.period, bases, pdata, bool(pdata), prior)
        prev_row = _row(query, (), None, ptotals)
        previous = Previous(prior.start, prior.end, prev_row)
        if gran is Granularity.NONE and dims:
            for key, agg in rows.items():
                changes[key] = _changes(query, agg, pdata.get(key, {}))
        changes[("total",)] = _changes(query, totals, ptotals)

    out = [
        _row(query, key[1:], _bucket_out(key[0], gran, period), agg, changes.get(key))
        for key, agg in sorted(rows.items(), key=lambda kv: _order(kv[0]))
    ]
    total_row = _row(query, (), None, totals, changes.get(("total",)))
    return Result(query, tuple(out), total_row, previous)


class _Fetcher:
    """Runs the statements of a grouping and merges them into key -> base aggregates."""

    def __init__(
        self, query: Query, store: ReportSource, builder: SqlBuilder, use_rollup: bool
    ) -> None:
        self.query, self.store, self.builder, self.use_rollup = query, store, builder, use_rollup

    def __call__(self, grouping: Grouping, query: Query | None = None) -> dict[Key, Aggregates]:
        q = query or self.query
        merged: dict[Key, Aggregates] = {}
        bucketed = grouping.granularity is not Granularity.NONE
        for st in self.builder.statements(q, grouping, use_rollup=self.use_rollup):
            for raw in self.store.query(st.sql, st.params):
                keys = raw[: st.keys]
                bucket = _bucket_in(keys[0]) if bucketed else None
                dim_values = keys[1:] if bucketed else keys
                key = (bucket, *_dims_in(grouping.dimensions, dim_values))
                agg = merged.setdefault(key, {})
                for base, value in zip(st.bases, raw[st.keys :], strict=True):
                    agg[base] = _as_int(value)
        return merged


def _totals(
    fetch: _Fetcher,
    period: Period,
    bases: tuple[Base, ...],
    data: Mapping[Key, Aggregates],
    grouped: bool,
    query: Query | None = None,
) -> Aggregates:
    if not grouped:
        whole = fetch(Grouping(period, Granularity.NONE, (), bases), query)
        return next(iter(whole.values()), dict.fromkeys(bases, 0))
    totals = {b: sum(agg.get(b, 0) for agg in data.values()) for b in bases if BASES[b].additive}
    distinct = tuple(b for b in bases if not BASES[b].additive)
    if distinct:
        whole = fetch(Grouping(period, Granularity.NONE, (), distinct), query)
        totals.update(next(iter(whole.values()), dict.fromkeys(distinct, 0)))
    return totals


def _fill(
    data: Mapping[Key, Aggregates],
    period: Period,
    granularity: Granularity,
    n_dims: int,
    grouped: bool,
) -> dict[Key, Aggregates]:
    """Every bucket of the period for each dimension combination that appears, with zeros
    where nothing happened. A report without dimensions always has its buckets."""
    combos = {key[1:] for key in data} if n_dims else {()}
    if not grouped:
        return {(None,): dict(next(iter(data.values()), {}))}
    buckets: list[Bucket] = period.buckets(granularity)
    seen: set[Bucket] = {key[0] for key in data}  # type: ignore[misc]
    buckets += sorted((b for b in seen if b not in set(buckets)), key=_sortable)
    return {
        (bucket, *combo): dict(data.get((bucket, *combo), {}))
        for combo, bucket in product(combos, buckets)
    }


def _row(
    query: Query,
    dims: tuple[object, ...],
    bucket: Bucket,
    agg: Aggregates,
    changes: Mapping[Metric, Change] | None = None,
) -> Row:
    values: dict[Metric, Value] = {}
    intervals: dict[Metric, Interval] = {}
    for m in query.metrics:
        d = REGISTRY[m]
        values[m] = d.value(agg)
        iv = d.interval(agg)
        if iv is not None:
            intervals[m] = iv
    return Row(tuple(dims), bucket, values, intervals, changes)  # type: ignore[arg-type]


def _changes(query: Query, current: Aggregates, prior: Aggregates) -> dict[Metric, Change]:
    return {
        m: Change.between(REGISTRY[m].value(current), REGISTRY[m].value(prior))
        for m in query.metrics
    }


def _as_int(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():  # ClickHouse over HTTP may send text
        return int(value)
    raise TypeError(f"unexpected aggregate value {value!r}")


def _bucket_in(value: object) -> Bucket:
    """A bucket as the database returned it: a date, or a naive UTC hour start."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return value
    raise TypeError(f"unexpected bucket value {value!r}")


def _bucket_out(bucket: object, granularity: Granularity, period: Period) -> Bucket:
    if granularity is Granularity.HOUR and isinstance(bucket, datetime):
        return bucket.replace(tzinfo=UTC).astimezone(period.zone)
    return bucket  # type: ignore[return-value]


def _dims_in(dimensions: Iterable[Dimension], values: Iterable[object]) -> list[DimValue]:
    out: list[DimValue] = []
    for dim, value in zip(dimensions, values, strict=True):
        if dim is Dimension.DROP_REASON and value == "":
            out.append(None)  # a valid event has no drop reason
        elif dim is Dimension.GENRE_MATCH:
            out.append(bool(value))
        else:
            out.append(value)  # type: ignore[arg-type]
    return out


def _sortable(value: object) -> tuple[bool, str]:
    return (value is None, "" if value is None else repr(type(value)) + str(value))


def _order(key: Key) -> tuple[object, ...]:
    # Dimensions first, then the bucket, None last; values compare within their own type.
    parts = [*key[1:], key[0]]
    return tuple(
        (v is None, (v if isinstance(v, (int, str)) else str(v)) if v is not None else 0)
        for v in parts
    )
