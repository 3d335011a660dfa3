"""Streaming: a big generated export is imported with bounded memory.

tracemalloc sees every allocation Python makes (not SQLite's own page cache, which is the
sink's business). A file read whole would need at least its own size; the bound here is a
fraction of it, so only a streaming import can pass.
"""

from __future__ import annotations

import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import pytest

from backbeat.importers.driver import import_file
from backbeat.importers.sqlite_sink import SqliteImportSink

# Real Meta exports carry many columns we do not map (ids, statuses, the ad's body text):
# they make rows long, and they must stream through like the rest.
HEADER = (
    "Reporting starts,Reporting ends,Campaign name,Ad set name,Ad name,Impressions,Reach,"
    "Amount spent (USD),Link clicks,Clicks (all),CTR (link click-through rate),Body,Campaign ID,"
    "Ad set ID,Ad ID,Objective,Attribution setting,Delivery status,Bid strategy,"
    "Quality ranking,URL parameters\n"
)
BODY = '"' + "New single out now: stream it, save it, share it with a friend. " * 24 + '"'
TAIL = (
    f"{BODY},120208765432100001,120208765432100002,120208765432100003,Awareness,"
    "7-day click or 1-day view,active,Highest volume,Average,"
    "utm_source=meta&utm_medium=paid_social&utm_campaign=spring_single"
)


def generate(path: Path, target_bytes: int) -> tuple[int, int]:
    """Write a Meta-style export of about ``target_bytes``; return (rows, impressions)."""
    rows = impressions = size = 0
    first = date(2023, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        chunk: list[str] = []
        while size < target_bytes:
            day = (first + timedelta(days=rows % 365)).isoformat()
            imps = 1000 + rows % 5000
            clicks = rows % 97
            line = (
                f"{day},{day},Spring Single {rows % 50},Fans {rows % 400},Teaser {rows % 3000},"
                f"{imps},{imps // 2},{rows % 900}.{rows % 100:02d},{clicks},{clicks * 2},"
                f"{clicks * 100 / imps:.6f},{TAIL}\n"
            )
            chunk.append(line)
            size += len(line)
            rows += 1
            impressions += imps
            if len(chunk) == 5000:
                fh.write("".join(chunk))
                chunk = []
        fh.write("".join(chunk))
    return rows, impressions


def import_traced(path: Path, sink: SqliteImportSink) -> tuple[int, int, int]:
    tracemalloc.start()
    try:
        report = import_file(path, sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return report.rows_imported, report.totals.impressions, peak


def test_50_mb_export_streams_in_bounded_memory(tmp_path: Path, sink: SqliteImportSink) -> None:
    path = tmp_path / "big.csv"
    rows, impressions = generate(path, 50_000_000)
    assert path.stat().st_size >= 50_000_000
    imported, total, peak = import_traced(path, sink)
    assert (imported, total) == (rows, impressions)
    assert sink.count() == rows
    assert peak < 16_000_000, f"peak {peak / 1e6:.1f} MB for a 50 MB file"


@pytest.mark.slow
def test_200_mb_export_streams_in_bounded_memory(tmp_path: Path, sink: SqliteImportSink) -> None:
    path = tmp_path / "huge.csv"
    rows, impressions = generate(path, 200_000_000)
    imported, total, peak = import_traced(path, sink)
    assert (imported, total) == (rows, impressions)
    assert peak < 16_000_000, f"peak {peak / 1e6:.1f} MB for a 200 MB file"
