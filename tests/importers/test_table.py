from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from backbeat.importers import google_ads, meta
from backbeat.importers.columns import bind
from backbeat.importers.errors import ImportFailed
from backbeat.importers.model import ReportRow, RowProblem
from backbeat.importers.parsing import NumberStyle
from backbeat.importers.table import Item, ParseOptions, TableParser, TotalsRow

HEADER = ["Day", "Campaign", "Currency code", "Impr.", "Clicks", "Cost"]


def parse(rows: list[list[str]], **options: object) -> list[Item]:
    binding = bind(google_ads.SPEC, HEADER, 1)
    parser = TableParser(binding, ParseOptions(platform="google_ads", **options))  # type: ignore[arg-type]
    return list(parser.parse((i + 2, r) for i, r in enumerate(rows)))


def only_rows(items: list[Item]) -> list[ReportRow]:
    assert all(isinstance(i, ReportRow) for i in items), items
    return [i for i in items if isinstance(i, ReportRow)]


def test_a_row_becomes_a_report_row() -> None:
    (row,) = only_rows(parse([["2024-03-01", "Brand", "usd", "1,204", "96", "40.32"]]))
    assert row == ReportRow(
        platform="google_ads",
        campaign="Brand",
        start=date(2024, 3, 1),
        end=date(2024, 3, 1),
        currency="USD",
        impressions=1204,
        spend_micros=40_320_000,
        clicks=96,
        source_row=2,
    )
    assert row.day == date(2024, 3, 1)


def test_number_style_decided_later_in_the_file_applies_to_earlier_rows() -> None:
    # "1,500" fits both styles in a money column; "7,25" three rows later proves decimal comma.
    rows = [
        ["2024-03-01", "A", "EUR", "100", "1", "1,500"],
        ["2024-03-02", "A", "EUR", "100", "1", "2,250"],
        ["2024-03-03", "A", "EUR", "100", "1", "7,25"],
    ]
    spends = [r.spend_micros for r in only_rows(parse(rows))]
    assert spends == [1_500_000, 2_250_000, 7_250_000]


def test_waiting_rows_are_released_as_soon_as_a_cell_decides() -> None:
    # ISO dates never decide a day/month order; that must not keep rows waiting
    records = [
        (2, ["2024-03-01", "A", "EUR", "100", "1", "1,500"]),
        (3, ["2024-03-02", "A", "EUR", "100", "1", "7,25"]),
        *[(n, ["2024-03-03", "A", "EUR", "100", "1", "1"]) for n in range(4, 1000)],
    ]
    consumed: list[int] = []

    def source() -> Iterator[tuple[int, list[str]]]:
        for record in records:
            consumed.append(record[0])
            yield record

    parser = TableParser(bind(google_ads.SPEC, HEADER, 1), ParseOptions(platform="google_ads"))
    stream = parser.parse(source())
    first, second = next(stream), next(stream)
    assert isinstance(first, ReportRow) and first.spend_micros == 1_500_000
    assert isinstance(second, ReportRow) and second.spend_micros == 7_250_000
    assert consumed[-1] == 3  # nothing read beyond the deciding row
    assert parser.order is None  # still undecided, and nothing waits for it


def test_without_deciding_evidence_numbers_take_the_hint() -> None:
    rows = [["2024-03-01", "A", "EUR", "100", "1", "1,500"]]
    assert only_rows(parse(rows))[0].spend_micros == 1_500_000_000
    comma = parse(rows, number_hint=NumberStyle.COMMA)
    assert only_rows(comma)[0].spend_micros == 1_500_000


def test_a_look_ahead_cap_bounds_the_buffer() -> None:
    ambiguous = [["2024-03-01", "A", "EUR", "100", "1", "1,500"]] * 5
    decisive = [["2024-03-02", "A", "EUR", "100", "1", "7,25"]]
    items = parse(ambiguous + decisive, lookahead=3)
    # the first 3 rows settled on the dot hint; "7,25" then contradicts it
    assert [i.spend_micros for i in only_rows(items[:5])] == [1_500_000_000] * 5
    problem = items[-1]
    assert isinstance(problem, RowProblem)
    assert (problem.row, problem.column) == (7, "Cost")


def test_date_order_decided_later_in_the_file() -> None:
    rows = [
        ["03/09/2024", "A", "USD", "10", "1", "1.00"],
        ["03/14/2024", "A", "USD", "10", "1", "1.00"],
    ]
    assert [r.start for r in only_rows(parse(rows))] == [date(2024, 3, 9), date(2024, 3, 14)]


def test_ambiguous_dates_are_an_error_naming_row_and_column() -> None:
    rows = [
        ["03/09/2024", "A", "USD", "10", "1", "1.00"],
        ["04/09/2024", "A", "USD", "1", "1", "1"],
    ]
    items = parse(rows)
    assert [(p.row, p.column) for p in items if isinstance(p, RowProblem)] == [
        (2, "Day"),
        (3, "Day"),
    ]
    assert "ambiguous" in str(items[0])


def test_conflicting_number_styles_are_an_error() -> None:
    rows = [
        ["2024-03-01", "A", "EUR", "100", "1", "1.50"],
        ["2024-03-02", "A", "EUR", "1", "1", "2,50"],
    ]
    items = parse(rows)
    assert isinstance(items[0], ReportRow)
    assert isinstance(items[1], RowProblem)
    assert (items[1].row, items[1].column) == (3, "Cost")


def test_cell_problems_name_row_and_column() -> None:
    items = parse([["2024-03-01", "A", "USD", "-5", "1", "abc"]])
    assert [(p.row, p.column) for p in items if isinstance(p, RowProblem)] == [
        (2, "Impr."),
        (2, "Cost"),
    ]


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        (["2024-03-01", "", "USD", "1", "1", "1"], "Campaign", "campaign name is empty"),
        (["", "A", "USD", "1", "1", "1"], "Day", "date is empty"),
        (["2024-03-01", "A", "", "1", "1", "1"], "Currency code", "pass currency="),
        (["2024-03-01", "A", "USD", "1"], None, "malformed"),
        (["2024-03-01", "A", "USD", "1", "1", "1", "surprise"], None, "malformed"),
    ],
)
def test_row_problems(cells: list[str], column: str | None, message: str) -> None:
    (problem,) = parse([cells])
    assert isinstance(problem, RowProblem)
    assert problem.column == column
    assert message in problem.message


def test_blank_lines_and_trailing_empty_cells_are_fine() -> None:
    rows = [["", "", "", "", "", ""], ["2024-03-01", "A", "USD", "1", "1", "1", ""]]
    assert len(only_rows(parse(rows))) == 1


def test_totals_rows_are_recognised_not_imported() -> None:
    items = parse(
        [
            ["2024-03-01", "A", "USD", "10", "1", "1.00"],
            ["Total: Account", "--", "USD", "10", "1", "1.00"],
            ["Total: Search", "--", "USD", "10", "1", "1.00"],
        ]
    )
    totals = [i for i in items if isinstance(i, TotalsRow)]
    assert [(t.row, t.label, t.grand) for t in totals] == [
        (3, "Total: Account", True),
        (4, "Total: Search", False),
    ]
    assert totals[0].figures["spend"] == (Decimal("1.00"), 2, "Cost")
    assert totals[0].figures["impressions"] == (Decimal(10), 0, "Impr.")


def test_meta_summary_row_has_empty_names() -> None:
    header = [
        "Reporting starts",
        "Reporting ends",
        "Campaign name",
        "Amount spent (USD)",
        "Impressions",
    ]
    parser = TableParser(bind(meta.SPEC, header), ParseOptions(platform="meta"))
    items = list(
        parser.parse(
            [
                (2, ["2024-03-01", "2024-03-02", "", "3.00", "30"]),
                (3, ["2024-03-01", "2024-03-02", "A", "3.00", "30"]),
            ]
        )
    )
    assert isinstance(items[0], TotalsRow)
    assert items[0].label == "summary row"
    assert isinstance(items[1], ReportRow)
    assert (items[1].start, items[1].end, items[1].day) == (
        date(2024, 3, 1),
        date(2024, 3, 2),
        None,
    )


def test_period_rows_must_not_end_before_they_start() -> None:
    header = [
        "Reporting starts",
        "Reporting ends",
        "Campaign name",
        "Amount spent (USD)",
        "Impressions",
    ]
    parser = TableParser(bind(meta.SPEC, header), ParseOptions(platform="meta"))
    (problem,) = parser.parse([(2, ["2024-03-05", "2024-03-01", "A", "3.00", "30"])])
    assert isinstance(problem, RowProblem)
    assert problem.column == "Reporting ends"


def test_the_period_option_covers_files_without_dates() -> None:
    header = ["Campaign", "Currency code", "Impr.", "Cost"]
    period = (date(2024, 3, 1), date(2024, 3, 31))
    parser = TableParser(bind(google_ads.SPEC, header), ParseOptions("google_ads", period=period))
    (row,) = parser.parse([(4, ["A", "EUR", "10", "1"])])
    assert isinstance(row, ReportRow)
    assert (row.start, row.end) == period


def test_a_file_with_no_currency_anywhere_is_refused_up_front() -> None:
    header = ["Day", "Campaign", "Impr.", "Cost"]
    with pytest.raises(ImportFailed, match="pass currency="):
        TableParser(bind(google_ads.SPEC, header), ParseOptions(platform="google_ads"))
    parser = TableParser(bind(google_ads.SPEC, header), ParseOptions("google_ads", currency="SEK"))
    (row,) = parser.parse([(2, ["2024-03-01", "A", "1", "1"])])
    assert isinstance(row, ReportRow)
    assert row.currency == "SEK"


def test_currency_cell_must_agree_with_the_header_suffix() -> None:
    header = ["Day", "Campaign name", "Currency", "Amount spent (EUR)", "Impressions"]
    parser = TableParser(bind(meta.SPEC, header), ParseOptions(platform="meta"))
    (problem,) = parser.parse([(2, ["2024-03-01", "A", "USD", "1", "1"])])
    assert isinstance(problem, RowProblem)
    assert problem.column == "Currency"
    assert "EUR" in problem.message
