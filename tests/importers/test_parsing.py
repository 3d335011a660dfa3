from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backbeat.importers.parsing import (
    AMBIGUOUS,
    CellError,
    DateOrder,
    NumberStyle,
    date_evidence,
    decimal_places,
    is_blank,
    is_grand_total,
    number_evidence,
    parse_count,
    parse_currency,
    parse_date,
    parse_money_micros,
    parse_number,
    parse_period,
    totals_label,
)

DOT, COMMA = NumberStyle.DOT, NumberStyle.COMMA


@pytest.mark.parametrize(
    ("text", "style", "expected"),
    [
        ("1234", DOT, "1234"),
        ("1,234.56", DOT, "1234.56"),
        ("1.234,56", COMMA, "1234.56"),
        ("1\u202f234,56", COMMA, "1234.56"),  # French narrow no-break space
        ("1 234,56", COMMA, "1234.56"),
        ("12,5", COMMA, "12.5"),
        ("$1,204.10", DOT, "1204.10"),
        ("€ 7,30", COMMA, "7.30"),
        ("12.34 EUR", DOT, "12.34"),
        ("2.35%", DOT, "2.35"),
        ("0,45 %", COMMA, "0.45"),
        ("1,234,567", DOT, "1234567"),
        ("1.234.567", COMMA, "1234567"),
        ("1'234.50", DOT, "1234.50"),
    ],
)
def test_numbers_in_either_style(text: str, style: NumberStyle, expected: str) -> None:
    assert parse_number(text, style) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "  ", "--", "-", "n/a", "N/A", "—"])
def test_blank_cells_are_none(text: str) -> None:
    assert is_blank(text)
    assert parse_number(text, DOT) is None
    assert parse_count(text, DOT) is None
    assert parse_money_micros(text, DOT) is None


@pytest.mark.parametrize("text", ["-12", "−3.50", "(4.00)", "12-"])
def test_negative_numbers_are_refused(text: str) -> None:
    with pytest.raises(CellError, match="negative"):
        parse_number(text, DOT)


def test_wrong_style_is_an_error_that_says_which_style() -> None:
    with pytest.raises(CellError, match=r"1\.234,56"):
        parse_number("1,234.56", COMMA)
    with pytest.raises(CellError, match="not a number"):
        parse_number("twelve", DOT)


def test_counts_must_be_whole() -> None:
    assert parse_count("1,234", DOT) == 1234
    assert parse_count("1.234", COMMA) == 1234
    with pytest.raises(CellError, match="whole number"):
        parse_count("12.5", DOT)


def test_money_is_exact_micros() -> None:
    assert parse_money_micros("0.1", DOT) == 100_000
    assert parse_money_micros("1.204,88", COMMA) == 1_204_880_000
    assert parse_money_micros("0.000001", DOT) == 1
    with pytest.raises(CellError, match="6 decimal places"):
        parse_money_micros("0.0000001", DOT)


def test_decimal_places() -> None:
    assert decimal_places("1,234.50", DOT) == 2
    assert decimal_places("12", DOT) == 0
    assert decimal_places("0,123", COMMA) == 3


@pytest.mark.parametrize(
    ("text", "integral", "expected"),
    [
        ("1234", False, None),
        ("12.50", False, DOT),
        ("12,50", False, COMMA),
        ("1,234.56", False, DOT),
        ("1.234,56", False, COMMA),
        ("1,234", False, AMBIGUOUS),
        ("1.234", False, AMBIGUOUS),
        ("1,234", True, DOT),  # a count cannot be 1.234: the comma groups thousands
        ("1.234", True, COMMA),
        ("0,123", False, COMMA),  # grouping never starts with 0
        ("1234,567", False, COMMA),  # more than 3 digits before: not grouping
        ("1,234,567", False, DOT),
        ("1 234,5", False, COMMA),
    ],
)
def test_number_evidence(text: str, integral: bool, expected: object) -> None:
    assert number_evidence(text, integral=integral) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-03-01", None, date(2024, 3, 1)),
        ("2024/03/01", None, date(2024, 3, 1)),
        ("2024-03-01 00:00:00", None, date(2024, 3, 1)),
        ("20240301", None, date(2024, 3, 1)),
        ("31/01/2024", None, date(2024, 1, 31)),
        ("01/31/2024", None, date(2024, 1, 31)),
        ("03/04/2024", DateOrder.DMY, date(2024, 4, 3)),
        ("03/04/2024", DateOrder.MDY, date(2024, 3, 4)),
        ("3/4/24", DateOrder.MDY, date(2024, 3, 4)),
        ("01.03.2024", None, date(2024, 3, 1)),
        ("05/05/2024", None, date(2024, 5, 5)),
        ("Mar 1, 2024", None, date(2024, 3, 1)),
        ("March 31, 2024", None, date(2024, 3, 31)),
        ("1 Mar 2024", None, date(2024, 3, 1)),
        ("1. März 2024", None, date(2024, 3, 1)),
    ],
)
def test_dates(text: str, order: DateOrder | None, expected: date) -> None:
    assert parse_date(text, order) == expected


def test_ambiguous_date_without_order_is_a_clear_error() -> None:
    with pytest.raises(CellError, match=r"ambiguous.*date_order"):
        parse_date("03/04/2024", None)


def test_date_contradicting_the_file_order_is_an_error() -> None:
    with pytest.raises(CellError, match="contradicts"):
        parse_date("31/01/2024", DateOrder.MDY)


@pytest.mark.parametrize("text", ["2024-02-30", "13/13/2024", "yesterday", "Foo 1, 2024"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(CellError):
        parse_date(text, DateOrder.DMY)


def test_explicit_format_wins() -> None:
    assert parse_date("2024|03|01", None, "%Y|%m|%d") == date(2024, 3, 1)
    with pytest.raises(CellError, match="format"):
        parse_date("2024-03-01", None, "%d.%m.%Y")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31/01/2024", DateOrder.DMY),
        ("01/31/2024", DateOrder.MDY),
        ("01.02.2024", DateOrder.DMY),
        ("01/02/2024", AMBIGUOUS),
        ("02/02/2024", None),
        ("2024-01-02", None),
    ],
)
def test_date_evidence(text: str, expected: object) -> None:
    assert date_evidence(text) == expected


def test_periods_in_preambles() -> None:
    assert parse_period("March 1, 2024 - March 31, 2024") == (date(2024, 3, 1), date(2024, 3, 31))
    assert parse_period("2024-03-01 – 2024-03-07") == (date(2024, 3, 1), date(2024, 3, 7))
    assert parse_period("Campaign report") is None
    assert parse_period("2024-03-07 - 2024-03-01") is None


@pytest.mark.parametrize(
    ("text", "grand"),
    [
        ("Total", True),
        ("Totals", True),
        ("Total: Account", True),
        ("Total: Campaigns", True),
        ("Total: Filtered campaigns", True),
        ("Gesamt", True),
        ("Total: Search", False),
        ("Total: Display", False),
    ],
)
def test_totals_labels(text: str, grand: bool) -> None:
    label = totals_label(text)
    assert label is not None
    assert is_grand_total(label) is grand


@pytest.mark.parametrize("text", ["Total Eclipse Tour", "Tour 2024", "", "Subtotal campaign"])
def test_not_totals_labels(text: str) -> None:
    assert totals_label(text) is None


def test_currency_codes() -> None:
    assert parse_currency(" eur ") == "EUR"
    with pytest.raises(CellError, match="ISO 4217"):
        parse_currency("EURO")
    with pytest.raises(CellError, match="ISO 4217"):
        parse_currency("ABC")
