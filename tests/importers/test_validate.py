from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from backbeat.importers.model import ReportRow
from backbeat.importers.validate import RowChecker, half_unit, spend_places

HEADERS = {
    "clicks": "Link clicks",
    "clicks_all": "Clicks (all)",
    "reach": "Reach",
    "ctr": "CTR (link click-through rate)",
    "ctr_all": "CTR (all)",
    "cpm": "CPM (cost per 1,000 impressions) (USD)",
    "cpc": "CPC (cost per link click) (USD)",
    "cpv": "Avg. CPV",
    "frequency": "Frequency",
}
# 12,450 impressions, 143 link clicks, 48.62 spent: CTR 1.148594 %, CPM 3.905221, CPC 0.340000
ROW = ReportRow(
    platform="meta",
    campaign="Spring Single",
    start=date(2024, 3, 1),
    end=date(2024, 3, 1),
    currency="USD",
    impressions=12450,
    spend_micros=48_620_000,
    clicks=143,
    clicks_all=311,
    reach=9870,
    frequency=Decimal("1.26"),
    reported_ctr=Decimal("1.148594"),
    reported_ctr_all=Decimal("2.50"),
    reported_cpm=Decimal("3.91"),
    reported_cpc=Decimal("0.34"),
    source_row=7,
)


def check(row: ReportRow) -> tuple[list[str], list[str]]:
    errors, warnings = RowChecker(HEADERS).check(row)
    assert all(p.row == 7 for p in errors + warnings)
    return [str(p.column) for p in errors], [str(p.column) for p in warnings]


def test_a_consistent_row_passes() -> None:
    assert check(ROW) == ([], [])


def test_clicks_above_impressions_is_an_error() -> None:
    errors, _ = check(replace(ROW, impressions=100, reported_ctr=None, reported_ctr_all=None,
                              reported_cpm=None, frequency=None, reach=None))  # fmt: skip
    assert errors == ["Link clicks"]


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"reported_ctr": Decimal("1.50")}, "CTR (link click-through rate)"),
        ({"reported_ctr_all": Decimal("2.40")}, "CTR (all)"),
        ({"reported_cpm": Decimal("3.80")}, "CPM (cost per 1,000 impressions) (USD)"),
        ({"reported_cpc": Decimal("0.36")}, "CPC (cost per link click) (USD)"),
        ({"frequency": Decimal("1.30")}, "Frequency"),
        ({"views": 1000, "reported_cpv": Decimal("0.06")}, "Avg. CPV"),
        ({"clicks_all": 100, "reported_ctr_all": None}, "Clicks (all)"),
        ({"reach": 20000, "frequency": None}, "Reach"),
    ],
)
def test_inconsistent_figures_are_warnings(change: dict[str, object], column: str) -> None:
    errors, warnings = check(replace(ROW, **change))  # type: ignore[arg-type]
    assert errors == []
    assert warnings == [column]


def test_rounding_of_the_printed_figures_is_tolerated() -> None:
    # CPC printed with 2 decimals from an unrounded spend: 0.345 would be inside 0.34 +- 0.005
    assert check(replace(ROW, reported_cpc=Decimal("0.35"), spend_micros=49_330_000,
                         reported_cpm=Decimal("3.96"))) == ([], [])  # fmt: skip
    # a small denominator widens the tolerance: 1.00 spend +-0.005 over 3 clicks is +-0.0017
    small = replace(ROW, impressions=50, clicks=3, clicks_all=3, reach=None, frequency=None,
                    spend_micros=1_000_000, reported_ctr=Decimal("6"), reported_ctr_all=None,
                    reported_cpm=Decimal("20.1"), reported_cpc=Decimal("0.335"))  # fmt: skip
    assert check(small) == ([], [])


def test_message_says_what_was_reported_and_what_was_expected() -> None:
    _, warnings = RowChecker(HEADERS).check(replace(ROW, reported_ctr=Decimal("1.50")))
    assert warnings[0].message == "reported 1.5 but clicks / impressions gives 1.1486"


def test_only_columns_the_file_has_are_checked() -> None:
    checker = RowChecker({"clicks": "Clicks"})
    assert checker.check(replace(ROW, reported_ctr=Decimal("9"))) == ([], [])


def test_helpers() -> None:
    assert half_unit(Decimal("1.23")) == Decimal("0.005")
    assert half_unit(Decimal("7")) == Decimal("0.5")
    assert spend_places(48_620_000, "USD") == 2
    assert spend_places(48_625_000, "USD") == 3
    assert spend_places(1_000_000_000, "JPY") == 0
