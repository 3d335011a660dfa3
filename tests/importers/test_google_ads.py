"""Google Ads exports: the UTF-16 tab-separated default with preamble and totals block, and a
YouTube video campaign export. Expected totals are summed by hand from the fixtures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from backbeat.importers.driver import import_file
from backbeat.importers.sqlite_sink import SqliteImportSink


def test_utf16_export_with_preamble_and_totals(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "google_ads.csv", sink)
    assert (report.platform, report.encoding, report.delimiter) == ("google_ads", "utf-16", "\t")
    assert report.rows_imported == 6
    assert report.totals_rows_skipped == 4  # Account, Search, Display, Campaigns
    assert report.date_range == (date(2024, 3, 1), date(2024, 3, 3))
    assert report.totals.impressions == 141697  # 1,204+1,318+1,150+45,210+47,885+44,930
    assert report.totals.clicks == 897  # 96+101+88+203+219+190
    assert report.totals.spend_micros == {"USD": 508_060_000}  # 40.32+43.43+37.84+126.59+...
    assert report.totals.conversions == Decimal("25.00")  # 6+7.5+5+2+3+1.5
    assert report.totals.viewable_impressions == 96618  # 31,647+33,520+31,451
    assert report.warnings == ()  # Total: Account matches; Total: Search is only a subtotal
    search = sink.rows()[0]
    assert (search.campaign, search.ad_group, search.day) == (
        "Spring Single – Search",
        "Brand terms",
        date(2024, 3, 1),
    )
    assert search.viewable_impressions is None  # "--" in the file
    assert (search.reported_ctr, search.reported_cpc) == (Decimal("7.97"), Decimal("0.42"))


def test_totals_block_mismatch_is_reported(
    fixtures: Path, tmp_path: Path, sink: SqliteImportSink
) -> None:
    lines = (fixtures / "google_ads.csv").read_bytes().decode("utf-16").split("\r\n")
    assert lines[8].startswith("Spring Single – Display\tMusic fans affinity\t2024-03-03")
    path = tmp_path / "short.csv"
    # drop the last data row: the totals no longer add up
    path.write_bytes("\r\n".join(lines[:8] + lines[9:]).encode("utf-16"))
    report = import_file(path, sink)
    assert report.rows_imported == 5
    columns = {(w.row, w.column) for w in report.warnings}
    assert (9, "Impr.") in columns and (9, "Cost") in columns  # Total: Account
    assert (12, "Impr.") in columns  # Total: Campaigns


def test_youtube_video_export(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "youtube.csv", sink, platform="youtube")
    assert (report.platform, report.rows_imported, report.totals_rows_skipped) == (
        "google_ads",
        3,
        3,
    )
    # no Day column: every row covers the date range printed in the preamble
    assert report.date_range == (date(2024, 3, 1), date(2024, 3, 31))
    assert {(r.start, r.end) for r in sink.rows()} == {(date(2024, 3, 1), date(2024, 3, 31))}
    assert report.totals.impressions == 210415  # 58,240 + 31,775 + 120,400
    assert report.totals.views == 29733  # 19,821 + 9,912 (the bumper has no views)
    assert report.totals.clicks == 911  # 412 + 198 + 301
    assert report.totals.spend_micros == {"EUR": 2_074_710_000}  # 594.63+396.48+1,083.60
    assert report.ignored_columns == ("View rate",)
    assert report.warnings == ()
    in_stream, _, bumper = sink.rows()
    assert (in_stream.views, in_stream.reported_cpv) == (19821, Decimal("0.03"))
    assert (in_stream.q25_rate, in_stream.q100_rate) == (Decimal("71.20"), Decimal("31.04"))
    assert in_stream.q25 is None  # Google gives rates, not counts
    assert (bumper.views, bumper.reported_cpv) == (None, None)


def test_youtube_export_is_detected_without_help(fixtures: Path, sink: SqliteImportSink) -> None:
    assert import_file(fixtures / "youtube.csv", sink).platform == "google_ads"
