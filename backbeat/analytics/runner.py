"""Run a report: generate SQL, execute it on the event store, and shape the result.

:func:`run` asks the store's dialect builder for the statements, runs them through
:meth:`EventStore.query`, merges them by key, fills every time bucket of the period with
zeros for each combination of dimension values that appears, and, when asked, computes the
previous period and the change of each metric. Rows carry their base counts; metrics and
intervals are derived from the registry when read or rendered (a network report has tens
of thousands of rows, so nothing is built per row that is not needed).

Totals: additive bases are the sum of the rows; reach is not additive (a visitor seen on two
days is one visitor of the two days), so when reach is asked for and the rows are grouped,
the totals get their own distinct count over the whole period. A report without buckets
or dimensions has one row, which is its totals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Protocol

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import BASES, REGISTRY, Base, Metric, bases_for
from backbeat.analytics.periods import Bucket, Granularity, Period
from backbeat.analytics.query import Query
from backbeat.analytics.result import Change, Previous, Result, Row
from backbeat.analytics.sql import Grouping, SqlBuilder, Statement, builder_for
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
Counts = tuple[int, ...]  # base aggregates in the order of the grouping's bases


def run(query: Query, store: ReportSource, *, use_rollup: bool = True) -> Result:
    """Compute `query` on `store`. `use_rollup=False` reads raw events only (for checks)."""
    fetch = _Fetcher(query, store, builder_for(store.dialect), use_rollup)
    bases = bases_for(query.metrics)
    period, gran, dims = query.period, query.granularity, query.dimensions
    grouped = gran is not Granularity.NONE or bool(dims)

    data = fetch(Grouping(period, gran, dims, bases))
    combos, buckets = _fill(data, period, gran, len(dims), grouped)

    pdata: dict[Key, Counts] | None = None
    total_changes: Mapping[Metric, Change] | None = None
    previous: Previous | None = None
    if query.compare_previous:
        prior = query.previous()
        per_row = gran is Granularity.NONE and bool(dims)  # rows match by dimension values
        if per_row:
            pdata = fetch(Grouping(prior.period, gran, dims, bases), prior)
        psums = _sums(pdata or {}, len(bases))
        ptotals = _totals(fetch, prior.period, bases, psums, per_row, prior)
        previous = Previous(prior.start, prior.end, _row(query, (), None, ptotals))

    # One Row per (combination, bucket), sharing the combination's tuple: a network report
    # makes tens of thousands, so each costs one object and a look-up.
    metrics, get = query.metrics, data.get
    shown = [_bucket_out(b, period) for b in buckets] if gran is Granularity.HOUR else buckets
    out: list[Row] = []
    counts: list[Counts | None] = []
    for combo in combos:
        for bucket, label in zip(buckets, shown, strict=True):
            key = (bucket, *combo)
            c = get(key)
            changes = None
            if pdata is not None:
                changes = _changes(query, _agg(bases, c), _agg(bases, pdata.get(key)))
            out.append(Row.from_counts(combo, label, bases, c, metrics, changes))  # type: ignore[arg-type]
            counts.append(c)
    # The same counts by base, for rendering all rows a metric at a time (no rows: none).
    zeros = (0,) * len(bases)
    by_base = zip(*(zeros if c is None else c for c in counts), strict=True)
    columns = dict(zip(bases, map(list, by_base), strict=False))
    if grouped:
        totals = _totals(fetch, period, bases, [sum(columns.get(b, ())) for b in bases], True)
    else:  # the one row is the totals (its query is the totals' query)
        totals = _agg(bases, counts[0] or zeros)
    if previous is not None:
        total_changes = _changes(query, totals, previous.totals.aggregates)
    totals_row = _row(query, (), None, totals, total_changes)
    return Result(query, tuple(out), totals_row, previous, columns)


def _agg(bases: tuple[Base, ...], counts: Counts | None) -> Aggregates:
    return {} if counts is None else dict(zip(bases, counts, strict=True))


class _Fetcher:
    """Runs the statements of a grouping and merges them into key -> base counts."""

    def __init__(
        self, query: Query, store: ReportSource, builder: SqlBuilder, use_rollup: bool
    ) -> None:
        self.query, self.store, self.builder, self.use_rollup = query, store, builder, use_rollup

    def __call__(self, grouping: Grouping, query: Query | None = None) -> dict[Key, Counts]:
        q = query or self.query
        bucketed = grouping.granularity is not Granularity.NONE
        convert = _dim_converter(grouping.dimensions)
        statements = self.builder.statements(q, grouping, use_rollup=self.use_rollup)
        if len(statements) == 1:
            st = statements[0]
            n = st.keys
            rows = self.store.query(st.sql, st.params)
            if rows and convert is None and _plain(rows[0], n, bucketed):
                # The common case (DuckDB, one table, no special dimension): rows are keys
                # and ints already, in the grouping's base order.
                if bucketed:
                    return {raw[:n]: raw[n:] for raw in rows}  # type: ignore[misc]
                return {(None, *raw[:n]): raw[n:] for raw in rows}  # type: ignore[misc]
            return self._merge(grouping, [(st, rows)], bucketed, convert)
        fetched = [(st, self.store.query(st.sql, st.params)) for st in statements]
        return self._merge(grouping, fetched, bucketed, convert)

    @staticmethod
    def _merge(
        grouping: Grouping,
        fetched: list[tuple[Statement, list[tuple[object, ...]]]],
        bucketed: bool,
        convert: Callable[[Sequence[object]], Sequence[object]] | None,
    ) -> dict[Key, Counts]:
        where = {b: i for i, b in enumerate(grouping.bases)}
        merged: dict[Key, list[int]] = {}
        width = len(grouping.bases)
        for st, rows in fetched:
            n = st.keys
            slots = [where[b] for b in st.bases]
            for raw in rows:
                dims = raw[1:n] if bucketed else raw[:n]
                key = (
                    _bucket_in(raw[0]) if bucketed else None,
                    *(dims if convert is None else convert(dims)),
                )
                counts = merged.get(key)
                if counts is None:
                    counts = merged[key] = [0] * width
                for slot, value in zip(slots, raw[n:], strict=True):
                    counts[slot] = _as_int(value)
        return {k: tuple(v) for k, v in merged.items()}


def _plain(first: tuple[object, ...], n: int, bucketed: bool) -> bool:
    """True when rows shaped like `first` need no conversion (all rows share its types)."""
    if bucketed:
        b = first[0]
        if not (type(b) is date or (type(b) is datetime and b.tzinfo is None)):
            return False
    return all(type(v) is int for v in first[n:])


def _sums(data: Mapping[Key, Counts], width: int) -> list[int]:
    """Each base's sum over the rows of `data`."""
    return [sum(col) for col in zip(*data.values(), strict=True)] if data else [0] * width


def _totals(
    fetch: _Fetcher,
    period: Period,
    bases: tuple[Base, ...],
    sums: Sequence[int],
    grouped: bool,
    query: Query | None = None,
) -> Aggregates:
    """The report's totals: the sums of the rows for additive bases (`sums`, in base
    order), a query of their own for distinct counts and for ungrouped reports."""
    if not grouped:
        whole = fetch(Grouping(period, Granularity.NONE, (), bases), query)
        return _agg(bases, next(iter(whole.values()), (0,) * len(bases)))
    totals = {b: v for b, v in zip(bases, sums, strict=True) if BASES[b].additive}
    distinct = tuple(b for b in bases if not BASES[b].additive)
    if distinct:
        whole = fetch(Grouping(period, Granularity.NONE, (), distinct), query)
        totals.update(_agg(distinct, next(iter(whole.values()), (0,) * len(distinct))))
    return totals


def _fill(
    data: Mapping[Key, Counts],
    period: Period,
    granularity: Granularity,
    n_dims: int,
    grouped: bool,
) -> tuple[list[tuple[object, ...]], list[Bucket]]:
    """The rows of the report, in order, as (combinations of dimension values, buckets):
    every bucket of the period for each combination that appears; zeros where nothing
    happened. A report without dimensions always has all its buckets."""
    if not grouped:
        return [()], [None]
    combos: list[tuple[object, ...]] = [()]
    if n_dims:
        combos = sorted({key[1:] for key in data}, key=_order)
    buckets: list[Bucket] = period.buckets(granularity)
    listed = set(buckets)
    extra = {key[0] for key in data if key[0] not in listed}
    if extra:  # cannot happen when SQL and periods agree; never drop data if they do not
        buckets = sorted([*buckets, *extra], key=_sortable)  # type: ignore[list-item]
    return combos, buckets


def _row(
    query: Query,
    dims: tuple[object, ...],
    bucket: Bucket,
    agg: Aggregates,
    changes: Mapping[Metric, Change] | None = None,
) -> Row:
    return Row(dims, bucket, agg, query.metrics, changes)  # type: ignore[arg-type]


def _changes(
    query: Query, current: Mapping[Base, int], prior: Mapping[Base, int]
) -> dict[Metric, Change]:
    return {
        m: Change.between(REGISTRY[m].value(current), REGISTRY[m].value(prior))
        for m in query.metrics
    }


def _as_int(value: object) -> int:
    if type(value) is int:
        return value
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():  # ClickHouse over HTTP may send text
        return int(value)
    raise TypeError(f"unexpected aggregate value {value!r}")


def _bucket_in(value: object) -> Bucket:
    """A bucket as the database returned it: a date, or a naive UTC hour start."""
    if type(value) is date:
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return value
    raise TypeError(f"unexpected bucket value {value!r}")


def _bucket_out(bucket: Bucket, period: Period) -> Bucket:
    """An hour bucket as reported: an aware datetime in the query's zone."""
    assert isinstance(bucket, datetime)
    return bucket.replace(tzinfo=UTC).astimezone(period.zone)


def _dim_converter(
    dimensions: tuple[Dimension, ...],
) -> Callable[[Sequence[object]], Sequence[object]] | None:
    """Database values to report values: no drop reason is None, genre_match a bool.
    None when no dimension needs converting."""
    special = {i: d for i, d in enumerate(dimensions)
               if d in (Dimension.DROP_REASON, Dimension.GENRE_MATCH)}
    if not special:
        return None

    def convert(values: Sequence[object]) -> list[object]:
        out = list(values)
        for i, dim in special.items():
            if dim is Dimension.DROP_REASON:
                out[i] = out[i] or None  # a valid event has no drop reason
            else:
                out[i] = bool(out[i])
        return out

    return convert


def _sortable(value: object) -> tuple[bool, str]:
    return (value is None, "" if value is None else repr(type(value)) + str(value))


def _order(combo: tuple[object, ...]) -> tuple[tuple[bool, object], ...]:
    # None (no drop reason) last; values compare within their own dimension's type.
    return tuple((v is None, 0 if v is None else v) for v in combo)
