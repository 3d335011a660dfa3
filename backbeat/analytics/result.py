"""A computed report: rows, totals, the previous period, and their CSV and JSON forms.

Values stay exact in Python (see :mod:`backbeat.analytics.metrics`) and are rounded only
when rendered:

* ``count`` metrics: integers;
* ``money``: a decimal string in currency units with 6 places (micros), e.g. ``"2.500000"``;
  half-even for per-unit prices such as eCPM, exact for sums;
* ``percent``: a decimal string of the *percentage* with 4 places, ``"1.5000"`` for a CTR of
  1.5%; interval bounds likewise;
* ``ratio``: a decimal string with 4 places;
* an undefined value (a CTR without impressions): ``null`` in JSON, an empty CSV cell.

JSON shape (``version`` 1)::

    {"version": 1,
     "query": {...Query.to_dict()...},
     "columns": {"bucket": "day" | null, "dimensions": ["campaign", ...],
                 "metrics": [{"name", "label", "unit", "formula", "higher_is_better"}, ...]},
     "rows": [{"bucket": "2026-03-02" | "2026-03-08T01:00:00-05:00" | null,
               "dimensions": {"campaign": 41, ...},
               "metrics": {"ctr": "1.5000", ...},
               "intervals": {"ctr": {"low": "1.2812", "high": "1.7556"}, ...},
               "changes": null | {"ctr": {"previous", "absolute", "relative"}, ...}}, ...],
     "totals": {"metrics": ..., "intervals": ..., "changes": ...},
     "previous": null | {"start": ..., "end": ..., "metrics": ..., "intervals": ...}}

``changes`` compare with the previous period of equal length: ``absolute`` in the metric's
unit (percentage points for rates), ``relative`` as a percentage of the previous value
(``null`` when that is 0 or undefined). Rows carry changes only for reports without time
buckets. Buckets are the local date (day), the Monday (week), or the aware start of the
local hour. The CSV holds the rows only (reach is not the sum of rows: use the totals).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from itertools import repeat

import orjson

from backbeat.analytics.columns import (
    Columns,
    fixed,
    interval_column,
    quotient,
    render_column,
)
from backbeat.analytics.dimensions import FilterValue
from backbeat.analytics.metrics import REGISTRY, Base, Metric, Unit, Value
from backbeat.analytics.periods import Bucket
from backbeat.analytics.query import Query
from backbeat.analytics.stats import Interval

DimValue = FilterValue | None
Rendered = int | str | None


@dataclass(frozen=True)
class Change:
    """A metric against the previous period."""

    previous: Value
    absolute: Value  # current - previous; None when either is undefined
    relative: Fraction | None  # (current - previous) / previous; None when previous is 0

    @classmethod
    def between(cls, current: Value, previous: Value) -> Change:
        if current is None or previous is None:
            return cls(previous, None, None)
        diff = current - previous
        return cls(previous, diff, Fraction(diff) / previous if previous else None)


class Row:
    """Metric values for one bucket and combination of dimension values (or the totals).

    A row keeps its base aggregates; `values` and `intervals` are derived from them through
    the registry on first use, so a large report costs only what is read or rendered. Rows
    are read-only by convention; a report of 60,000 rows makes 60,000 of them, so the class
    has slots and builds its `aggregates` mapping only when asked (:meth:`from_counts`)."""

    __slots__ = ("_aggregates", "_bases", "_counts", "_intervals", "_values", "bucket",
                 "changes", "dimensions", "metrics")

    def __init__(
        self,
        dimensions: tuple[DimValue, ...],
        bucket: Bucket,
        aggregates: Mapping[Base, int],
        metrics: tuple[Metric, ...],
        changes: Mapping[Metric, Change] | None = None,
    ) -> None:
        self.dimensions = dimensions
        self.bucket = bucket
        self.metrics = metrics
        self.changes = changes
        self._aggregates: Mapping[Base, int] | None = aggregates
        self._bases: tuple[Base, ...] = ()
        self._counts: tuple[int, ...] | None = None
        self._values: Mapping[Metric, Value] | None = None
        self._intervals: Mapping[Metric, Interval] | None = None

    @classmethod
    def from_counts(
        cls,
        dimensions: tuple[DimValue, ...],
        bucket: Bucket,
        bases: tuple[Base, ...],
        counts: tuple[int, ...] | None,
        metrics: tuple[Metric, ...],
        changes: Mapping[Metric, Change] | None = None,
    ) -> Row:
        """A row whose aggregates are `counts` of `bases` in order (None: all zero)."""
        row = cls.__new__(cls)
        row.dimensions, row.bucket, row.metrics, row.changes = dimensions, bucket, metrics, changes
        row._aggregates, row._bases, row._counts = None, bases, counts
        row._values = row._intervals = None
        return row

    @property
    def aggregates(self) -> Mapping[Base, int]:
        if self._aggregates is None:
            counts = self._counts
            self._aggregates = {} if counts is None else dict(zip(self._bases, counts, strict=True))
        return self._aggregates

    @property
    def values(self) -> Mapping[Metric, Value]:
        if self._values is None:
            agg = self.aggregates
            self._values = {m: REGISTRY[m].value(agg) for m in self.metrics}
        return self._values

    @property
    def intervals(self) -> Mapping[Metric, Interval]:
        """Wilson 95% intervals of the rate metrics that have one."""
        if self._intervals is None:
            out: dict[Metric, Interval] = {}
            for m in self.metrics:
                iv = REGISTRY[m].interval(self.aggregates)
                if iv is not None:
                    out[m] = iv
            self._intervals = out
        return self._intervals

    def base_count(self, base: Base) -> int:
        """One base aggregate (0 when not computed), without building `aggregates`."""
        if self._aggregates is None:
            counts = self._counts
            if counts is None or base not in self._bases:
                return 0
            return counts[self._bases.index(base)]
        return self._aggregates.get(base, 0)

    def __getitem__(self, metric: Metric) -> Value:
        return self.values[metric]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Row):
            return NotImplemented
        return (self.dimensions, self.bucket, dict(self.aggregates), self.metrics,
                self.changes) == (other.dimensions, other.bucket, dict(other.aggregates),
                                  other.metrics, other.changes)

    __hash__ = None  # type: ignore[assignment]  # mutable caches; equality by value

    def __repr__(self) -> str:
        return (f"Row(dimensions={self.dimensions!r}, bucket={self.bucket!r}, "
                f"aggregates={dict(self.aggregates)!r}, changes={self.changes!r})")


@dataclass(frozen=True)
class Previous:
    """The comparison period: its bounds (as in the query) and its totals."""

    start: date
    end: date
    totals: Row


@dataclass(frozen=True)
class Result:
    """What :func:`backbeat.analytics.runner.run` returns."""

    query: Query
    rows: tuple[Row, ...]
    totals: Row
    previous: Previous | None = None
    # The rows' base aggregates as columns aligned with `rows`, when the runner has them:
    # rendering then reads no row's aggregates. None: they are read from the rows.
    columns: Columns | None = field(default=None, compare=False, repr=False)

    def row(self, bucket: Bucket = None, **dimensions: DimValue) -> Row:
        """The row for `bucket` and the given dimension values (by dimension name)."""
        names = [d.value for d in self.query.dimensions]
        for r in self.rows:
            if r.bucket == bucket and all(
                r.dimensions[names.index(k)] == v for k, v in dimensions.items()
            ):
                return r
        raise KeyError((bucket, dimensions))

    # --- rendering -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        """The documented JSON shape (module docstring) as plain Python data."""
        q = self.query
        return {
            "version": 1,
            "query": q.to_dict(),
            "columns": {
                "bucket": None if q.granularity == "none" else q.granularity.value,
                "dimensions": [d.value for d in q.dimensions],
                "metrics": [_describe(m) for m in q.metrics],
            },
            "rows": self._row_dicts(),
            "totals": self._cells(self.totals),
            "previous": None
            if self.previous is None
            else {
                "start": self.previous.start.isoformat(),
                "end": self.previous.end.isoformat(),
                **{k: v for k, v in self._cells(self.previous.totals).items() if k != "changes"},
            },
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON text (UTF-8, not ASCII-escaped)."""
        return orjson.dumps(self.to_dict()).decode()

    def to_csv(self) -> str:
        """The rows as CSV: bucket (when bucketed), dimensions, metrics, interval bounds of
        rates (``<metric>_low``/``_high``), and with a comparison ``<metric>_previous`` and
        ``<metric>_change_pct``."""
        q = self.query
        bucketed = q.granularity != "none"
        rated = [m for m in q.metrics if REGISTRY[m].interval_of_rate]
        compared = any(r.changes is not None for r in self.rows)
        header = (["bucket"] if bucketed else []) + [d.value for d in q.dimensions]
        header += [m.value for m in q.metrics]
        header += [f"{m}_{side}" for m in rated for side in ("low", "high")]
        if compared:
            header += [f"{m}_{s}" for m in q.metrics for s in ("previous", "change_pct")]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        cols, size = self._columns(), len(self.rows)
        values = [[_blank(v) for v in render_column(REGISTRY[m], cols, size)]
                  for m in q.metrics]
        bounds: list[list[tuple[str, str]]] = []
        for m in rated:
            ivs = interval_column(REGISTRY[m], cols, size)
            bounds.append([("", "") if iv is None else (iv["low"], iv["high"]) for iv in ivs])
        buckets = _BucketText()
        for i, r in enumerate(self.rows):
            line: list[object] = [buckets(r.bucket)] if bucketed else []
            line += [_cell(v) for v in r.dimensions]
            line += [column[i] for column in values]
            for pairs in bounds:
                line += pairs[i]
            if compared:
                for m in q.metrics:
                    ch = (r.changes or {}).get(m)
                    prev = None if ch is None else render(m, ch.previous)
                    rel = None if ch is None or ch.relative is None else _pct(ch.relative)
                    line += [_blank(prev), _blank(rel)]
            writer.writerow(line)
        return out.getvalue()

    def _columns(self) -> Columns:
        if self.columns is not None:
            return self.columns
        needed = {b for m in self.query.metrics for b in REGISTRY[m].needs}
        return {b: [r.base_count(b) for r in self.rows] for b in needed}

    def _row_dicts(self) -> list[dict[str, object]]:
        """Every row's JSON shape, each metric computed for all rows in one pass
        (:mod:`backbeat.analytics.columns`): the same values as :meth:`_cells` per row."""
        q = self.query
        cols, size = self._columns(), len(self.rows)
        names = [m.value for m in q.metrics]
        columns = [render_column(REGISTRY[m], cols, size) for m in q.metrics]
        rated = [(m.value, interval_column(REGISTRY[m], cols, size))
                 for m in q.metrics if REGISTRY[m].interval_of_rate]
        dim_names = [d.value for d in q.dimensions]
        rated_names = [name for name, _ in rated]
        buckets = _BucketText()
        per_row = zip(*columns, strict=True) if columns else repeat(())
        per_row_iv = zip(*(c for _, c in rated), strict=True) if rated else repeat(())
        out: list[dict[str, object]] = []
        for r, values, ivs in zip(self.rows, per_row, per_row_iv, strict=False):
            if None in ivs:
                intervals = {n: iv for n, iv in zip(rated_names, ivs, strict=True) if iv}
            else:
                intervals = dict(zip(rated_names, ivs, strict=True))
            changes = r.changes
            out.append({
                "bucket": buckets(r.bucket),
                "dimensions": dict(zip(dim_names, r.dimensions, strict=True)),
                "metrics": dict(zip(names, values, strict=True)),
                "intervals": intervals,
                "changes": None if changes is None else {
                    m.value: _change(m, changes[m]) for m in q.metrics if m in changes},
            })
        return out

    def _cells(self, r: Row) -> dict[str, object]:
        metrics = self.query.metrics
        return {
            "metrics": {m.value: render(m, r.values[m]) for m in metrics},
            "intervals": {
                m.value: {"low": _pct(iv.low), "high": _pct(iv.high)}
                for m in metrics
                if (iv := r.intervals.get(m)) is not None
            },
            "changes": None
            if r.changes is None
            else {m.value: _change(m, r.changes[m]) for m in metrics if m in r.changes},
        }


def render(metric: Metric, value: Value) -> Rendered:
    """One metric value in its rendered form (see the module docstring)."""
    if value is None:
        return None
    unit = REGISTRY[metric].unit
    if unit is Unit.COUNT and isinstance(value, int):
        return value
    if unit is Unit.MONEY:
        return _fixed(value, 1, 6)  # micros are the 6th decimal place already
    if unit is Unit.PERCENT:
        return _fixed(value, 10**6, 4)  # rate x 100, 4 places
    return _fixed(value, 10**4, 4)


def _change(metric: Metric, ch: Change) -> dict[str, Rendered]:
    return {
        "previous": render(metric, ch.previous),
        "absolute": render(metric, ch.absolute),
        "relative": None if ch.relative is None else _pct(ch.relative),
    }


def _describe(metric: Metric) -> dict[str, object]:
    d = REGISTRY[metric]
    return {
        "name": d.name,
        "label": d.label,
        "unit": d.unit.value,
        "formula": d.formula,
        "higher_is_better": d.higher_is_better,
    }


def _fixed(value: int | Fraction, scale: int, places: int) -> str:
    """`value * scale` rounded half-even to an integer, shown with `places` decimals.
    Integer arithmetic only: exact, and fast enough for reports of many rows."""
    if isinstance(value, int):
        return fixed(value * scale, places)
    return fixed(quotient(value.numerator * scale, value.denominator), places)


def _pct(rate: float | Fraction) -> str:
    if isinstance(rate, float):  # interval bounds: approximate by nature
        return f"{rate * 100:.4f}"
    return _fixed(rate, 10**6, 4)


def _bucket(bucket: Bucket) -> str | None:
    return None if bucket is None else bucket.isoformat()


class _BucketText:
    """`_bucket` remembered per bucket: a large report repeats the same few buckets."""

    def __init__(self) -> None:
        self._seen: dict[Bucket, str | None] = {}

    def __call__(self, bucket: Bucket) -> str | None:
        text = self._seen.get(bucket)
        if text is None and bucket is not None:
            text = self._seen[bucket] = bucket.isoformat()
        return text


def _cell(value: DimValue) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON and Query.parse spell it
    return "" if value is None else value


def _blank(value: Rendered) -> object:
    return "" if value is None else value
