from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from backbeat.importers.model import ReportRow, RowProblem


def row(start: date, end: date) -> ReportRow:
    return ReportRow("meta", "A", start, end, "USD", 10, 1_000_000)


def test_day_is_set_only_for_one_day_rows() -> None:
    assert row(date(2024, 3, 1), date(2024, 3, 1)).day == date(2024, 3, 1)
    assert row(date(2024, 3, 1), date(2024, 3, 7)).day is None


def test_rows_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        row(date(2024, 3, 1), date(2024, 3, 1)).impressions = 5  # type: ignore[misc]


def test_problem_locations() -> None:
    assert (
        str(RowProblem(12, "Link clicks", "too many")) == "row 12, column 'Link clicks': too many"
    )
    assert RowProblem(3, None, "x").where() == "row 3"
    assert RowProblem(None, None, "x").where() == "file"
