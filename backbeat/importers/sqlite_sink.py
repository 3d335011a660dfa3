"""An :class:`~backbeat.importers.sink.ImportSink` on the standard library's sqlite3.

One database file, two tables: ``report_imports`` (one row per committed import, its
checksum unique) and ``report_rows``. Each import runs in one ``BEGIN IMMEDIATE``
transaction, so a failed import leaves nothing behind and a concurrent import of the same
file fails on the unique checksum instead of storing the rows twice. Decimals are stored as
text so they round-trip exactly; dates as ISO text, which sorts and compares correctly.
"""

from __future__ import annotations

import dataclasses
import operator
import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args, get_type_hints

from backbeat.errors import Conflict
from backbeat.importers.model import ReportRow
from backbeat.importers.sink import ImportStart, ImportSummary

_FIELDS = [f.name for f in dataclasses.fields(ReportRow)]
_HINTS = get_type_hints(ReportRow)


def _base(name: str) -> type:
    """The field's type without ``| None``."""
    hint = _HINTS[name]
    args = [a for a in get_args(hint) if a is not type(None)]
    found = args[0] if args else hint
    assert isinstance(found, type)
    return found


_TYPES = {n: _base(n) for n in _FIELDS}


def _sql_type(name: str) -> str:
    return "INTEGER" if _TYPES[name] is int else "TEXT"


_GET = operator.attrgetter(*_FIELDS)
_AS_TEXT = [i for i, n in enumerate(_FIELDS) if _TYPES[n] in (Decimal, date)]


def _to_sql(import_id: str, row: ReportRow) -> list[object]:
    """The row's values in column order; Decimals and dates as text (str(date) is ISO)."""
    values: list[object] = [import_id, *_GET(row)]
    for i in _AS_TEXT:
        value = values[i + 1]
        if value is not None:
            values[i + 1] = str(value)
    return values


def _from_sql(name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = _TYPES[name]
    if kind is Decimal:
        return Decimal(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS report_imports (
    import_id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    account TEXT,
    checksum TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    start_date TEXT,
    end_date TEXT,
    rows INTEGER,
    currencies TEXT,
    committed_at TEXT
);
CREATE TABLE IF NOT EXISTS report_rows (
    import_id TEXT NOT NULL REFERENCES report_imports(import_id),
    {", ".join(f'"{n}" {_sql_type(n)}' for n in _FIELDS)}
);
CREATE INDEX IF NOT EXISTS report_rows_range
    ON report_rows (platform, account, start, "end");
CREATE INDEX IF NOT EXISTS report_rows_import ON report_rows (import_id);
"""
_INSERT = (
    f"INSERT INTO report_rows (import_id, {', '.join(f'{chr(34)}{n}{chr(34)}' for n in _FIELDS)})"
    f" VALUES (?, {', '.join('?' for _ in _FIELDS)})"
)


class SqliteTransaction:
    """One import in one SQLite transaction."""

    def __init__(self, sink: SqliteImportSink, start: ImportStart) -> None:
        self._sink = sink
        self._db = sink.db
        self.start = start
        self._open = True
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT INTO report_imports (import_id, platform, account, checksum, source)"
                " VALUES (?, ?, ?, ?, ?)",
                (start.import_id, start.platform, start.account, start.checksum, start.source),
            )
        except sqlite3.IntegrityError:
            self.rollback()
            raise Conflict(f"a file with checksum {start.checksum} is already imported") from None

    def _close(self) -> None:
        self._open = False
        self._sink.active = None

    def _require_open(self) -> None:
        if not self._open:
            raise RuntimeError("this import's transaction has ended")

    def write(self, rows: Sequence[ReportRow]) -> None:
        self._require_open()
        iid = self.start.import_id
        self._db.executemany(_INSERT, [_to_sql(iid, r) for r in rows])

    def replace_range(self, account: str | None, platform: str, start: date, end: date) -> int:
        self._require_open()
        cur = self._db.execute(
            "DELETE FROM report_rows WHERE platform = ? AND account IS ? AND import_id != ?"
            ' AND start <= ? AND "end" >= ?',
            (platform, account, self.start.import_id, end.isoformat(), start.isoformat()),
        )
        return cur.rowcount

    def commit(self, summary: ImportSummary) -> None:
        self._require_open()
        self._db.execute(
            "UPDATE report_imports SET start_date = ?, end_date = ?, rows = ?, currencies = ?,"
            " committed_at = ? WHERE import_id = ?",
            (
                summary.start.isoformat(),
                summary.end.isoformat(),
                summary.rows,
                ",".join(summary.currencies),
                datetime.now(UTC).isoformat(),
                self.start.import_id,
            ),
        )
        self._db.execute("COMMIT")  # if this fails the transaction stays open for rollback()
        self._close()

    def rollback(self) -> None:
        if not self._open:
            return
        self._close()
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")


class SqliteImportSink:
    """Stores imports in an SQLite file. One import at a time per sink object."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.executescript(_SCHEMA)
        self.active: SqliteTransaction | None = None

    def close(self) -> None:
        self.db.close()

    def has_checksum(self, checksum: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM report_imports WHERE checksum = ? AND committed_at IS NOT NULL",
            (checksum,),
        ).fetchone()
        return row is not None

    def begin(self, start: ImportStart) -> SqliteTransaction:
        if self.active is not None:
            raise RuntimeError("an import is already in progress on this sink")
        self.active = SqliteTransaction(self, start)
        return self.active

    # --- reading back (tests, tools) ----------------------------------------------------

    def rows(self, platform: str | None = None, account: str | None = None) -> list[ReportRow]:
        """Stored rows, optionally for one platform/account, in import and file order."""
        sql = f"SELECT {', '.join(chr(34) + n + chr(34) for n in _FIELDS)} FROM report_rows"
        clauses, params = [], []
        if platform is not None:
            clauses.append("platform = ?")
            params.append(platform)
        if account is not None:
            clauses.append("account = ?")
            params.append(account)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY rowid"
        return [
            ReportRow(**{n: _from_sql(n, v) for n, v in zip(_FIELDS, rec, strict=True)})
            for rec in self.db.execute(sql, params)
        ]

    def imports(self) -> list[dict[str, Any]]:
        """Committed imports, oldest first, as plain dicts."""
        cur = self.db.execute(
            "SELECT import_id, platform, account, checksum, source, start_date, end_date, rows,"
            " currencies FROM report_imports WHERE committed_at IS NOT NULL ORDER BY rowid"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, rec, strict=True)) for rec in cur]

    def count(self, import_id: str | None = None) -> int:
        """Stored rows, in all or in one import."""
        if import_id is None:
            return int(self.db.execute("SELECT count(*) FROM report_rows").fetchone()[0])
        return int(
            self.db.execute(
                "SELECT count(*) FROM report_rows WHERE import_id = ?", (import_id,)
            ).fetchone()[0]
        )
