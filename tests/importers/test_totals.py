from __future__ import annotations

from datetime import date
from decimal import Decimal

from backbeat.importers.model import ReportRow
from backbeat.importers.table import TotalsRow
from backbeat.importers.totals import Accumulator


def row(
    day: int, impressions: int, spend_micros: int, reach: int, currency: str = "USD"
) -> ReportRow:
    return ReportRow(
        platform="meta",
        campaign="A",
        start=date(2024, 3, day),
        end=date(2024, 3, day),
        currency=currency,
        impressions=impressions,
        spend_micros=spend_micros,
        clicks=impressions // 100,
        reach=reach,
        conversions=Decimal("1.5"),
    )


def filled() -> Accumulator:
    acc = Accumulator()
    acc.add(row(1, 1000, 10_010_000, 800))
    acc.add(row(2, 3000, 20_020_000, 2500))
    return acc


def totals(**figures: tuple[str, int]) -> TotalsRow:
    return TotalsRow(
        9, "Total", True, {k: (Decimal(v), places, k) for k, (v, places) in figures.items()}
    )


def test_sums_without_reach() -> None:
    t = filled().totals()
    assert (t.impressions, t.clicks, t.spend_micros, t.conversions) == (
        4000,
        40,
        {"USD": 30_030_000},
        Decimal("3.0"),
    )
    assert not hasattr(t, "reach")  # reach never adds up across days


def test_matching_totals_row_passes() -> None:
    acc = filled()
    assert acc.check([totals(impressions=("4000", 0), spend=("30.03", 2))]) == []
    # within rounding: two rows each off by up to half a cent, the total by another half
    assert acc.check([totals(spend=("30.04", 2))]) == []


def test_mismatching_totals_row_names_row_and_column() -> None:
    (problem,) = filled().check([totals(impressions=("4001", 0))])
    assert (problem.row, problem.column) == (9, "impressions")
    assert "4001" in problem.message and "4000" in problem.message
    assert filled().check([totals(spend=("30.10", 2))])[0].column == "spend"


def test_one_matching_grand_total_is_enough() -> None:
    account = TotalsRow(5, "Total: Account", True, {"impressions": (Decimal(9999), 0, "Impr.")})
    campaigns = TotalsRow(6, "Total: Campaigns", True, {"impressions": (Decimal(4000), 0, "Impr.")})
    partial = TotalsRow(7, "Total: Search", False, {"impressions": (Decimal(1), 0, "Impr.")})
    assert filled().check([account, campaigns, partial]) == []
    assert [p.row for p in filled().check([account, partial])] == [5]


def test_spend_is_not_compared_across_currencies() -> None:
    acc = filled()
    acc.add(row(3, 10, 5_000_000, 10, currency="EUR"))
    assert acc.totals().spend_micros == {"EUR": 5_000_000, "USD": 30_030_000}
    assert acc.check([totals(spend=("1.00", 2))]) == []
