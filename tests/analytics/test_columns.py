"""Metrics for many rows at once must render exactly as one row at a time does."""

from __future__ import annotations

import random
from datetime import date, timedelta

from backbeat.analytics.columns import (
    columns_of,
    fixed,
    interval_column,
    quotient,
    render_column,
)
from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import REGISTRY, Base, Metric
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import Query
from backbeat.analytics.result import Result, Row, render
from backbeat.analytics.stats import wilson_bounds, wilson_interval

B = Base


def random_aggregates(n: int, seed: int) -> list[dict[Base, int]]:
    """Rows with zeros, ties at the rounding edge, huge sums, a numerator above its
    denominator (conversions > clicks) and negative money."""
    rng = random.Random(seed)
    out: list[dict[Base, int]] = []
    for i in range(n):
        kind = i % 6
        imps = rng.choice([0, 1, 2, 3, 7, 8, 200, 10_000, rng.randrange(1, 10**7)])
        row = {
            B.IMPRESSIONS: imps,
            B.CLICKS: rng.randrange(0, imps + 1) if imps else 0,
            B.VIEWABLE: rng.randrange(0, imps + 1) if imps else 0,
            B.SPEND: rng.choice([0, 1, 5, 2_500 * imps, rng.randrange(-10**6, 10**15)]),
            B.CONVERSIONS: rng.randrange(0, 40),
            B.VISITORS: rng.randrange(0, imps + 1),
            B.TRACKED: imps * 2,
            B.INVALID: rng.randrange(0, imps * 2 + 1),
        }
        if kind == 1:
            row = dict.fromkeys(row, 0)
        elif kind == 2:
            row = {B.IMPRESSIONS: 8, B.CLICKS: 1, B.SPEND: 5, B.VISITORS: 16}  # exact ties
        elif kind == 3:
            row.pop(B.CLICKS)  # a base not computed reads as 0
        out.append(row)
    return out


def test_every_metric_renders_as_row_by_row() -> None:
    rows = random_aggregates(3000, seed=1)
    cols, size = columns_of(rows, Base), len(rows)
    for metric, d in REGISTRY.items():
        assert render_column(d, cols, size) == [render(metric, d.value(r)) for r in rows], metric
        expected = []
        for r in rows:
            iv = d.interval(r)
            expected.append(None if iv is None else {"low": f"{iv.low * 100:.4f}",
                                                     "high": f"{iv.high * 100:.4f}"})
        assert interval_column(d, cols, size) == expected, metric
    # the examples are not all degenerate
    ctr = interval_column(REGISTRY[Metric.CTR], cols, size)
    assert sum(iv is not None for iv in ctr) > 1000
    assert None in render_column(REGISTRY[Metric.CONVERSION_RATE], cols, size)
    # a base no row computed reads as zeros
    assert render_column(REGISTRY[Metric.CLICKS], {}, 3) == [0, 0, 0]


def test_half_even_and_signs() -> None:
    assert quotient(5, 2) == 2 and quotient(7, 2) == 4 and quotient(-5, 2) == -2
    assert quotient(5, -2) == -2 and quotient(1, 3) == 0 and quotient(2, 3) == 1
    assert fixed(-12345, 4) == "-1.2345" and fixed(7, 6) == "0.000007" and fixed(0, 4) == "0.0000"


def test_wilson_bounds_are_wilson_interval() -> None:
    for s, n in ((0, 1), (1, 1), (3, 200), (150, 10_000), (9_999, 10_000), (1, 10**9)):
        iv = wilson_interval(s, n)
        assert wilson_bounds(s, n) == (iv.low, iv.high)


def test_large_report_json_and_csv_match_the_row_values() -> None:
    q = Query(start=date(2026, 3, 1), end=date(2026, 3, 30), granularity=Granularity.DAY,
              dimensions=(Dimension.CAMPAIGN,), metrics=tuple(Metric))
    aggs = random_aggregates(600, seed=2)
    rows = tuple(Row((i // 30,), date(2026, 3, 1) + timedelta(days=i % 30), a, q.metrics)
                 for i, a in enumerate(aggs))
    result = Result(q, rows, Row((), None, {}, q.metrics))
    # the same rows with their aggregates as columns, as the runner hands them over
    bases = tuple(Base)
    lazy = tuple(Row.from_counts(r.dimensions, r.bucket, bases,
                                 tuple(r.aggregates.get(b, 0) for b in bases), q.metrics)
                 for r in rows)
    columnar = Result(q, lazy, result.totals, columns=columns_of(aggs, bases))
    assert columnar.to_dict() == result.to_dict()
    assert columnar.to_csv() == result.to_csv()
    assert [r.values for r in lazy] == [r.values for r in rows]
    assert [r.intervals for r in lazy] == [r.intervals for r in rows]
    data = result.to_dict()["rows"]
    assert isinstance(data, list) and len(data) == 600
    csv_lines = result.to_csv().splitlines()[1:]
    for r, got, line in zip(rows, data, csv_lines, strict=True):
        assert got["bucket"] == r.bucket.isoformat()  # type: ignore[union-attr]
        assert got["dimensions"] == {"campaign": r.dimensions[0]}
        assert got["metrics"] == {m.value: render(m, r.values[m]) for m in q.metrics}
        assert got["intervals"] == {
            m.value: {"low": f"{iv.low * 100:.4f}", "high": f"{iv.high * 100:.4f}"}
            for m, iv in r.intervals.items()}
        cells = line.split(",")
        ctr = render(Metric.CTR, r.values[Metric.CTR])
        assert cells[2 + list(q.metrics).index(Metric.CTR)] == ("" if ctr is None else ctr)
