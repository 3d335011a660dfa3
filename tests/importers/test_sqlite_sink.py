from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from backbeat.errors import Conflict
from backbeat.importers.model import ReportRow
from backbeat.importers.sink import ImportSink, ImportStart, ImportSummary
from backbeat.importers.sqlite_sink import SqliteImportSink


def row(day: int, account: str | None = "acct-1", platform: str = "meta") -> ReportRow:
    return ReportRow(
        platform=platform,
        account=account,
        campaign="Spring Single",
        start=date(2024, 3, day),
        end=date(2024, 3, day),
        currency="EUR",
        impressions=1000 + day,
        spend_micros=12_340_000,
        frequency=Decimal("1.25"),
        q50_rate=Decimal("52.85"),
        source_row=day + 1,
    )


def start(import_id: str, checksum: str) -> ImportStart:
    return ImportStart(import_id, "meta", "acct-1", checksum, "export.csv")


def summary(first: int, last: int, rows: int) -> ImportSummary:
    return ImportSummary(date(2024, 3, first), date(2024, 3, last), rows, ("EUR",), ("acct-1",))


def test_it_is_an_import_sink(sink: SqliteImportSink) -> None:
    typed: ImportSink = sink
    assert typed.has_checksum("nothing") is False


def test_committed_rows_round_trip_exactly(sink: SqliteImportSink) -> None:
    txn = sink.begin(start("a", "sum-a"))
    txn.write([row(1), row(2)])
    txn.commit(summary(1, 2, 2))
    assert sink.rows() == [row(1), row(2)]
    assert sink.has_checksum("sum-a")
    (record,) = sink.imports()
    assert (record["import_id"], record["start_date"], record["end_date"], record["rows"]) == (
        "a",
        "2024-03-01",
        "2024-03-02",
        2,
    )


def test_rollback_leaves_nothing(sink: SqliteImportSink) -> None:
    txn = sink.begin(start("a", "sum-a"))
    txn.write([row(1)])
    txn.rollback()
    assert sink.count() == 0
    assert sink.imports() == []
    assert not sink.has_checksum("sum-a")
    txn.rollback()  # a second rollback is harmless


def test_uncommitted_rows_are_invisible_to_another_connection(
    sink: SqliteImportSink, tmp_path: Path
) -> None:
    txn = sink.begin(start("a", "sum-a"))
    txn.write([row(1)])
    other = SqliteImportSink(tmp_path / "imports.db")
    try:
        assert other.count() == 0
        txn.commit(summary(1, 1, 1))
        assert other.count() == 1
    finally:
        other.close()


def test_same_checksum_twice_is_a_conflict(sink: SqliteImportSink) -> None:
    sink.begin(start("a", "sum-a")).commit(summary(1, 1, 0))
    with pytest.raises(Conflict):
        sink.begin(start("b", "sum-a"))
    assert sink.active is None  # the failed begin released the sink
    sink.begin(start("c", "sum-c")).rollback()


def test_one_import_at_a_time(sink: SqliteImportSink) -> None:
    txn = sink.begin(start("a", "sum-a"))
    with pytest.raises(RuntimeError, match="in progress"):
        sink.begin(start("b", "sum-b"))
    txn.rollback()


def test_replace_range_deletes_overlapping_rows_of_earlier_imports(sink: SqliteImportSink) -> None:
    first = sink.begin(start("a", "sum-a"))
    first.write([row(1), row(2), row(3), row(2, account="acct-2"), row(2, platform="tiktok")])
    first.commit(summary(1, 3, 5))
    week = ReportRow(
        platform="meta",
        account="acct-1",
        campaign="Weekly",
        start=date(2024, 2, 26),
        end=date(2024, 3, 3),
        currency="EUR",
        impressions=1,
        spend_micros=1,
    )
    second_old = sink.begin(start("b", "sum-b"))
    second_old.write([week])
    second_old.commit(summary(1, 3, 1))

    txn = sink.begin(start("c", "sum-c"))
    txn.write([row(3)])
    removed = txn.replace_range("acct-1", "meta", date(2024, 3, 3), date(2024, 3, 4))
    txn.commit(summary(3, 4, 1))
    # day 3 of import a, and the week that overlaps day 3; not import c's own row
    assert removed == 2
    left = sorted((r.account, r.platform, r.start.day) for r in sink.rows())
    assert left == [
        ("acct-1", "meta", 1),
        ("acct-1", "meta", 2),
        ("acct-1", "meta", 3),
        ("acct-1", "tiktok", 2),
        ("acct-2", "meta", 2),
    ]


def test_replace_range_with_no_account_matches_rows_without_one(sink: SqliteImportSink) -> None:
    txn = sink.begin(start("a", "sum-a"))
    txn.write([row(1, account=None), row(1)])
    txn.commit(summary(1, 1, 2))
    txn = sink.begin(start("b", "sum-b"))
    assert txn.replace_range(None, "meta", date(2024, 3, 1), date(2024, 3, 1)) == 1
    txn.rollback()
    assert sink.count() == 2  # rolled back: the delete is undone too


def test_a_failed_commit_can_still_be_rolled_back(sink: SqliteImportSink, tmp_path: Path) -> None:
    txn = sink.begin(start("a", "sum-a"))
    txn.write([row(1)])
    reader = SqliteImportSink(tmp_path / "imports.db")
    try:
        # a reader holding a shared lock makes COMMIT fail with "database is locked"
        reader.db.execute("PRAGMA busy_timeout = 0")
        sink.db.execute("PRAGMA busy_timeout = 0")
        reader.db.execute("BEGIN")
        reader.db.execute("SELECT count(*) FROM report_rows").fetchone()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            txn.commit(summary(1, 1, 1))
        reader.db.execute("COMMIT")
        txn.rollback()
        assert sink.active is None
        assert sink.count() == 0 and sink.imports() == []
    finally:
        reader.close()


def test_an_ended_transaction_refuses_more_work(sink: SqliteImportSink) -> None:
    txn = sink.begin(start("a", "sum-a"))
    txn.rollback()
    with pytest.raises(RuntimeError, match="ended"):
        txn.write([row(1)])
