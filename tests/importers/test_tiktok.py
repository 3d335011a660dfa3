"""TikTok Ads Manager export. Expected totals are summed by hand from the fixture."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backbeat.importers.driver import import_file
from backbeat.importers.errors import ImportFailed
from backbeat.importers.sqlite_sink import SqliteImportSink

from .conftest import write


def test_tiktok_export(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "tiktok.csv", sink)
    assert (report.platform, report.rows_imported, report.totals_rows_skipped) == ("tiktok", 3, 1)
    # 03/09 and 03/10 fit both orders; 03/14 proves month-first for the whole file
    assert [r.day for r in sink.rows()] == [date(2024, 3, 9), date(2024, 3, 10), date(2024, 3, 14)]
    assert report.totals.impressions == 117007  # 40,120 + 43,875 + 33,012
    assert report.totals.clicks == 776  # destination clicks: 281 + 305 + 190
    assert report.totals.spend_micros == {"USD": 350_450_000}  # 120.50 + 131.20 + 98.75
    assert report.totals.views == 113124  # 38,944 + 42,310 + 31,870
    # the Total row matches; its deduplicated reach (71,530) is not compared with a sum
    assert report.warnings == ()
    rows = sink.rows()
    assert sum(r.views_2s or 0 for r in rows) == 60876  # 21,030 + 22,844 + 17,002
    assert sum(r.views_6s or 0 for r in rows) == 28505  # 9,870 + 10,705 + 7,930
    assert [sum(getattr(r, q) or 0 for r in rows) for q in ("q25", "q50", "q75", "q100")] == [
        44332,  # 15,402 + 16,620 + 12,310
        25763,  # 8,960 + 9,701 + 7,102
        17572,  # 6,114 + 6,588 + 4,870
        12342,  # 4,302 + 4,650 + 3,390
    ]
    assert rows[0].clicks_all is None  # the export has no Clicks (all)


def test_export_without_date_column_needs_a_period(tmp_path: Path, sink: SqliteImportSink) -> None:
    path = write(
        tmp_path / "campaigns.csv",
        "Campaign name,Currency,Cost,Impressions,Clicks (destination)\nDrop,USD,10.00,1000,12\n",
    )
    with pytest.raises(ImportFailed, match="Date"):
        import_file(path, sink, platform="tiktok")
    report = import_file(path, sink, platform="tiktok", period=(date(2024, 3, 1), date(2024, 3, 7)))
    assert report.date_range == (date(2024, 3, 1), date(2024, 3, 7))
