"""Meta Ads Manager exports in English, French, German and Spanish. Expected totals are summed
by hand from the fixture files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from backbeat.importers.driver import import_file
from backbeat.importers.errors import ImportFailed
from backbeat.importers.sqlite_sink import SqliteImportSink


def test_english_export(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "meta_en.csv", sink)
    assert report.platform == "meta"
    assert (report.rows_imported, report.totals_rows_skipped) == (6, 0)
    assert report.date_range == (date(2024, 3, 1), date(2024, 3, 2))
    assert report.currencies == ("USD",)
    # 12450+8932+3120+13020+9105+2987; 143+97+88+151+102+79; 311+205+120+329+214+109
    assert report.totals.impressions == 49614
    assert report.totals.clicks == 660
    assert report.totals.clicks_all == 1288
    # 48.62+35.10+21.75+50.03+36.44+20.96
    assert report.totals.spend_micros == {"USD": 212_900_000}
    assert report.totals.results == Decimal(628)  # 143+97+71+151+102+64
    assert report.warnings == ()

    first = sink.rows()[0]
    assert (first.campaign, first.ad_group, first.ad) == (
        "Spring Single – Launch",
        "Indie fans 18-34 US",
        "Teaser 15s",
    )
    assert (first.day, first.currency, first.impressions, first.reach) == (
        date(2024, 3, 1),
        "USD",
        12450,
        9870,
    )
    assert (first.clicks, first.clicks_all) == (143, 311)  # link clicks and all clicks kept apart
    assert first.frequency == Decimal("1.261398")
    assert first.reported_ctr == Decimal("1.148594")
    assert first.reported_cpm == Decimal("3.905221")
    assert (first.results, first.result_indicator) == (Decimal(143), "actions:link_click")
    assert first.source_row == 2


def test_summary_row_is_skipped_and_checked(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "meta_en_summary.csv", sink)
    assert (report.rows_imported, report.totals_rows_skipped) == (6, 1)
    assert report.totals.impressions == 49614
    assert report.warnings == ()
    # the summary row's 2-day reach (24,118) is not the sum of the daily reach figures
    daily = [r.reach for r in sink.rows()]
    assert sum(r for r in daily if r is not None) == 37780
    assert [r.start for r in sink.rows()].count(date(2024, 3, 1)) == 3


def _tampered(fixtures: Path, tmp_path: Path) -> Path:
    text = (fixtures / "meta_en_summary.csv").read_text(encoding="utf-8")
    path = tmp_path / "tampered.csv"
    path.write_text(text.replace(",,,49614,", ",,,49000,", 1), encoding="utf-8")
    return path


def test_summary_mismatch_is_a_warning(
    fixtures: Path, tmp_path: Path, sink: SqliteImportSink
) -> None:
    report = import_file(_tampered(fixtures, tmp_path), sink)
    assert report.rows_imported == 6
    (warning,) = report.warnings
    assert (warning.row, warning.column) == (2, "Impressions")
    assert "49000" in warning.message and "49614" in warning.message


def test_summary_mismatch_can_be_an_error(
    fixtures: Path, tmp_path: Path, sink: SqliteImportSink
) -> None:
    with pytest.raises(ImportFailed, match="Impressions"):
        import_file(_tampered(fixtures, tmp_path), sink, totals_mismatch="error")
    assert sink.count() == 0
    assert sink.imports() == []


def test_french_export(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "meta_fr.csv", sink)
    assert (report.platform, report.encoding, report.rows_imported) == ("meta", "utf-8-sig", 4)
    assert report.date_range == (date(2024, 3, 13), date(2024, 3, 14))  # 13/03/2024: d/m/Y
    assert report.currencies == ("EUR",)
    assert report.totals.impressions == 45965  # 15 230 + 7 815 + 14 876 + 8 044
    assert report.totals.clicks == 514  # 188 + 71 + 175 + 80
    assert report.totals.clicks_all == 1090  # 402 + 150 + 377 + 161
    assert report.totals.spend_micros == {"EUR": 182_420_000}  # 61,27 + 30,05 + 59,98 + 31,12
    assert report.warnings == ()
    first = sink.rows()[0]
    assert first.campaign == "Single « Lumière » – Notoriété"
    assert (first.impressions, first.reach, first.frequency) == (15230, 11904, Decimal("1.28"))
    assert first.spend_micros == 61_270_000


def test_german_export(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "meta_de.csv", sink)
    assert (report.delimiter, report.rows_imported) == (";", 3)
    assert report.date_range == (date(2024, 3, 4), date(2024, 3, 10))
    assert report.totals.impressions == 74616  # 48.210 + 19.874 + 6.532
    assert report.totals.clicks == 809  # 402 + 166 + 241
    assert report.totals.clicks_all == 1589  # 911 + 380 + 298
    assert report.totals.spend_micros == {"EUR": 1_905_430_000}  # 1.204,88 + 512,40 + 188,15
    assert report.warnings == ()
    rows = sink.rows()
    assert all(r.day is None and (r.start, r.end) == (date(2024, 3, 4), date(2024, 3, 10))
               for r in rows)  # fmt: skip
    assert rows[0].campaign == "Album „Nachtfahrt“ – Reichweite"
    assert rows[0].reported_cpm == Decimal("24.99")


def test_spanish_export(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "meta_es.csv", sink)
    assert (report.platform, report.rows_imported, report.currencies) == ("meta", 2, ("MXN",))
    assert report.totals.impressions == 49380  # 25400 + 23980
    assert (report.totals.clicks, report.totals.clicks_all) == (595, 1189)  # 305+290, 612+577
    assert report.totals.spend_micros == {"MXN": 1_975_200_000}  # 1,016.00 + 959.20
    assert report.warnings == ()
    assert sink.rows()[0].ad_group == "Fans MX 18-34"


def test_reported_ctr_that_does_not_match_is_a_warning_with_row_and_column(
    fixtures: Path, tmp_path: Path, sink: SqliteImportSink
) -> None:
    text = (fixtures / "meta_en.csv").read_text(encoding="utf-8")
    path = tmp_path / "ctr.csv"
    path.write_text(text.replace(",1.085983,", ",1.985983,"), encoding="utf-8")
    report = import_file(path, sink)
    assert report.rows_imported == 6
    (warning,) = report.warnings
    assert (warning.row, warning.column) == (3, "CTR (link click-through rate)")
