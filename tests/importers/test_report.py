from __future__ import annotations

from datetime import date

from backbeat.importers.report import ImportReport


def test_date_range() -> None:
    report = ImportReport(None, "meta", "a.csv", "00", start=date(2024, 3, 1), end=date(2024, 3, 2))
    assert report.date_range == (date(2024, 3, 1), date(2024, 3, 2))
    assert ImportReport(None, "meta", "a.csv", "00", already_imported=True).date_range is None
