"""Spotify Ad Studio export. Expected totals are summed by hand from the fixture."""

from __future__ import annotations

from pathlib import Path

from backbeat.importers.driver import import_file
from backbeat.importers.sqlite_sink import SqliteImportSink


def test_spotify_export(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(fixtures / "spotify.csv", sink)
    assert (report.platform, report.rows_imported, report.currencies) == ("spotify", 4, ("GBP",))
    assert report.totals.impressions == 66417  # 20,412 + 19,880 + 21,005 + 5,120
    assert report.totals.clicks == 210  # 61 + 54 + 66 + 29
    assert report.totals.spend_micros == {"GBP": 1_011_620_000}  # 306.18+298.20+315.08+92.16
    assert report.totals.starts == 60367  # 20,100 + 19,577 + 20,690
    assert report.totals.completes == 38672  # 12,877 + 12,540 + 13,255
    assert report.totals.views == 3904  # the one video ad
    assert report.warnings == ()
    rows = sink.rows()
    assert sum(r.q25 or 0 for r in rows) == 53452  # first quartiles 17,802 + 17,330 + 18,320
    assert sum(r.q50 or 0 for r in rows) == 47840  # midpoints 15,930 + 15,520 + 16,390
    assert sum(r.q75 or 0 for r in rows) == 42661  # third quartiles 14,210 + 13,801 + 14,650
    video = rows[3]
    assert (video.ad, video.starts, video.views) == ("Canvas video 15s", None, 3904)
