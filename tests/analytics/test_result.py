"""Rendering a result: exact values to decimal strings, the CSV and the JSON shape."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from fractions import Fraction

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import Base, Metric
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import Query
from backbeat.analytics.result import Change, Previous, Result, Row, render
from backbeat.analytics.stats import wilson_interval

M = Metric
B = Base


def test_render_units() -> None:
    assert render(M.CLICKS, 150) == 150
    assert render(M.SPEND, 85_000_000) == "85.000000"
    assert render(M.SPEND, 1) == "0.000001"
    assert render(M.CPC, Fraction(85_000_000, 150)) == "0.566667"
    assert render(M.ECPM, Fraction(5, 2)) == "0.000002"  # half-even at the micro
    assert render(M.CTR, Fraction(3, 200)) == "1.5000"
    assert render(M.CTR, Fraction(1, 3)) == "33.3333"
    assert render(M.FREQUENCY, Fraction(7, 3)) == "2.3333"
    assert render(M.CTR, None) is None
    assert render(M.CTR, Fraction(-1, 3)) == "-33.3333"
    assert render(M.ECPM, Fraction(3, 2)) == "0.000002" and render(M.ECPM, Fraction(-5, 2)) == "-0.000002"
    assert render(M.FREQUENCY, Fraction(123457, 10**9)) == "0.0001"


def test_change_between() -> None:
    assert Change.between(6, 4) == Change(4, 2, Fraction(1, 2))
    assert Change.between(6, 0) == Change(0, 6, None)
    assert Change.between(None, Fraction(1, 2)) == Change(Fraction(1, 2), None, None)


def make_result() -> Result:
    q = Query(start=date(2026, 3, 2), end=date(2026, 3, 3), granularity=Granularity.DAY,
              dimensions=(Dimension.CAMPAIGN, Dimension.DROP_REASON),
              metrics=(M.IMPRESSIONS, M.CTR, M.SPEND), compare_previous=True)
    now = {B.IMPRESSIONS: 200, B.CLICKS: 3, B.SPEND: 500_000}
    before = {B.IMPRESSIONS: 100, B.CLICKS: 0, B.SPEND: 400_000}
    rows = (
        Row((1, None), date(2026, 3, 2), now, q.metrics),
        Row((1, "bot"), date(2026, 3, 3), {}, q.metrics),
    )
    totals = Row((), None, now, q.metrics, {
        M.IMPRESSIONS: Change.between(200, 100),
        M.CTR: Change.between(Fraction(3, 200), None),
        M.SPEND: Change.between(500_000, 400_000)})
    prev = Row((), None, before, q.metrics)
    return Result(q, rows, totals, Previous(date(2026, 2, 28), date(2026, 3, 1), prev))


def test_row_derives_values_and_intervals_from_aggregates() -> None:
    row = make_result().rows[0]
    assert row.values == {M.IMPRESSIONS: 200, M.CTR: Fraction(3, 200), M.SPEND: 500_000}
    assert row.intervals == {M.CTR: wilson_interval(3, 200)}
    empty = make_result().rows[1]
    assert empty.values == {M.IMPRESSIONS: 0, M.CTR: None, M.SPEND: 0}
    assert empty.intervals == {}


def test_json_shape() -> None:
    data = json.loads(make_result().to_json())
    assert set(data) == {"version", "query", "columns", "rows", "totals", "previous"}
    assert data["columns"]["bucket"] == "day"
    assert data["columns"]["dimensions"] == ["campaign", "drop_reason"]
    assert [m["unit"] for m in data["columns"]["metrics"]] == ["count", "percent", "money"]
    first = data["rows"][0]
    assert first["bucket"] == "2026-03-02"
    assert first["dimensions"] == {"campaign": 1, "drop_reason": None}
    assert first["metrics"] == {"impressions": 200, "ctr": "1.5000", "spend": "0.500000"}
    assert set(first["intervals"]["ctr"]) == {"low", "high"}
    assert first["changes"] is None
    assert data["rows"][1]["metrics"]["ctr"] is None and data["rows"][1]["intervals"] == {}
    assert data["totals"]["changes"]["impressions"] == {
        "previous": 100, "absolute": 100, "relative": "100.0000"}
    assert data["totals"]["changes"]["spend"]["absolute"] == "0.100000"
    assert data["totals"]["changes"]["ctr"] == {"previous": None, "absolute": None,
                                                "relative": None}
    assert data["previous"]["start"] == "2026-02-28"
    assert data["previous"]["metrics"]["spend"] == "0.400000"
    assert data["previous"]["metrics"]["ctr"] == "0.0000"


def test_csv_rows() -> None:
    text = make_result().to_csv()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["bucket", "campaign", "drop_reason", "impressions", "ctr", "spend",
                       "ctr_low", "ctr_high"]
    low, high = wilson_interval(3, 200).low * 100, wilson_interval(3, 200).high * 100
    assert rows[1][:6] == ["2026-03-02", "1", "", "200", "1.5000", "0.500000"]
    assert abs(float(rows[1][6]) - low) < 1e-4 and abs(float(rows[1][7]) - high) < 1e-4
    assert rows[2] == ["2026-03-03", "1", "bot", "0", "", "0.000000", "", ""]
    assert len(rows) == 3
