"""The DuckDB event store: the default backend, one file in the data directory.

Writes arrive as Arrow tables and are inserted set-at-a-time (row-at-a-time INSERTs or
``executemany`` run at about 700 rows/s; Arrow batches at about a million). Each batch is
one transaction:

1. duplicates inside the batch are dropped (first occurrence wins);
2. ids already stored are removed by an anti-join. The probe reads only the stored ids
   between the batch's smallest and largest id; with time-ordered UUIDv7 ids DuckDB's
   zone maps skip almost every row group, so the cost stays flat as the table grows;
3. the remaining rows go into ``events`` (whose primary key on ``id`` is the last line of
   defence against a duplicate) and, aggregated by hour and dimension, are added into
   ``events_hourly`` with an upsert.

DuckDB lets one process hold the file. Inside it, the single writer uses the main connection
(serialised by a lock) and every read opens its own cursor, i.e. its own connection to the
same database, so analytics never blocks on, nor sees half of, a write (MVCC snapshots).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from backbeat.domain.events import Event, EventType
from backbeat.errors import ValidationFailed
from backbeat.store.events.schema import (
    ARROW_SCHEMA,
    COLUMNS,
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    ROLLUP_TABLE,
    naive_utc,
    to_arrow,
)

_SQL_TYPES = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN"}


def _sql_type(typ: pa.DataType) -> str:
    return "TIMESTAMP" if pa.types.is_timestamp(typ) else _SQL_TYPES[typ]


def _events_ddl() -> str:
    cols = []
    for name, typ, nullable in COLUMNS:
        extra = " PRIMARY KEY" if name == "id" else ("" if nullable else " NOT NULL")
        cols.append(f"{name} {_sql_type(typ)}{extra}")
    return "CREATE TABLE IF NOT EXISTS events (\n  " + ",\n  ".join(cols) + "\n)"


def _rollup_ddl() -> str:
    types = {name: _sql_type(typ) for name, typ, _ in COLUMNS}
    cols = ["hour TIMESTAMP NOT NULL"]
    cols += [f"{d} {types[d]} NOT NULL" for d in ROLLUP_DIMENSIONS]
    cols += [f"{m} BIGINT NOT NULL" for m in ROLLUP_MEASURES]
    key = ", ".join(("hour", *ROLLUP_DIMENSIONS))
    body = ",\n  ".join(cols)
    return f"CREATE TABLE IF NOT EXISTS {ROLLUP_TABLE} (\n  {body},\n  PRIMARY KEY ({key})\n)"


def _rollup_upsert() -> str:
    dims = [("coalesce(drop_reason, '')" if d == "drop_reason" else d) for d in ROLLUP_DIMENSIONS]
    select = ", ".join(["date_trunc('hour', ts)", *dims])
    measures = "count(*), sum(price_micros), sum(value_micros)"
    updates = ", ".join(f"{m} = {m} + EXCLUDED.{m}" for m in ROLLUP_MEASURES)
    return (
        f"INSERT INTO {ROLLUP_TABLE} SELECT {select}, {measures} FROM _fresh GROUP BY ALL "
        f"ON CONFLICT DO UPDATE SET {updates}"
    )


_FRESH = (
    "CREATE OR REPLACE TEMP TABLE _fresh AS "
    "SELECT b.* FROM _batch b ANTI JOIN "
    "(SELECT id FROM events WHERE id BETWEEN ? AND ?) e USING (id)"
)
_ROLLUP_UPSERT = _rollup_upsert()


def _first_occurrences(table: pa.Table) -> pa.Table:
    """Drop rows whose id appeared earlier in the batch (rare: a resubmitted beacon)."""
    ids = table.column("id")
    if pc.count_distinct(ids).as_py() == len(ids):
        return table
    seen: set[str] = set()
    keep = []
    for i, ident in enumerate(ids.to_pylist()):
        if ident not in seen:
            seen.add(ident)
            keep.append(i)
    return table.take(pa.array(keep, pa.int64()))


class DuckDBEventStore:
    """:class:`~backbeat.store.events.protocol.EventStore` on one DuckDB file.

    `path` may be ``":memory:"`` for a throwaway database."""

    dialect = "duckdb"

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._con = duckdb.connect(self.path)
        self._lock = threading.Lock()  # one write at a time on the main connection
        self._con.execute(_events_ddl())
        self._con.execute(_rollup_ddl())
        # Readers spawn their cursors from a connection of their own, so opening one never
        # waits for a write in progress on the main connection.
        self._reader_root = self._con.cursor()
        self._reader_lock = threading.Lock()
        self._closed = False

    # writes -----------------------------------------------------------------
    def append_batch(self, events: Sequence[Event]) -> int:
        """See :meth:`EventStore.append_batch`."""
        if not events:
            return 0
        return self.append_table(to_arrow(events))

    def append_table(self, table: pa.Table) -> int:
        """Like `append_batch` for a table already built by :func:`schema.to_arrow`."""
        if not table.schema.equals(ARROW_SCHEMA):
            raise ValueError("append_table needs a table built by schema.to_arrow")
        if table.num_rows == 0:
            return 0
        table = _first_occurrences(table)
        bounds = pc.min_max(table.column("id"))
        lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
        with self._lock:
            self._check_open()
            con = self._con
            con.register("_batch", table)
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute(_FRESH, [lo, hi])
                    con.execute("INSERT INTO events SELECT * FROM _fresh")
                    con.execute(_ROLLUP_UPSERT)
                    row = con.execute("SELECT count(*) FROM _fresh").fetchone()
                    con.execute("DROP TABLE _fresh")
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            finally:
                con.unregister("_batch")
        return int(row[0]) if row else 0

    # reads ------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """See :meth:`EventStore.query`. Runs on a fresh cursor, safe from any thread."""
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.ParserException as exc:
            raise ValidationFailed.one("sql", f"does not parse: {exc}") from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise ValidationFailed.one("sql", "must be exactly one SELECT/WITH/FROM query")
        return self._read(sql, params)

    def count(
        self,
        *,
        type: EventType | None = None,
        campaign_id: int | None = None,
        valid: bool | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """See :meth:`EventStore.count`."""
        where: list[str] = []
        params: list[object] = []
        for clause, value in (
            ("type = ?", type.value if type is not None else None),
            ("campaign_id = ?", campaign_id),
            ("valid = ?", valid),
            ("ts >= ?", naive_utc(since) if since is not None else None),
            ("ts < ?", naive_utc(until) if until is not None else None),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = "SELECT count(*) FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        (total,) = self._read(sql, params)[0]
        assert isinstance(total, int)
        return total

    def ids(self, among: Collection[str] | None = None) -> set[str]:
        """See :meth:`EventStore.ids`."""
        if among is None:
            return {str(r[0]) for r in self._read("SELECT id FROM events", ())}
        if not among:
            return set()
        wanted = pa.table({"id": pa.array(list(among), pa.string())})
        bounds = pc.min_max(wanted.column("id"))
        cur = self._cursor()
        try:
            cur.register("_wanted", wanted)
            rows = cur.execute(
                "SELECT e.id FROM events e SEMI JOIN _wanted w USING (id) "
                "WHERE e.id BETWEEN ? AND ?",
                [bounds["min"].as_py(), bounds["max"].as_py()],
            ).fetchall()
        finally:
            cur.close()
        return {str(r[0]) for r in rows}

    def close(self) -> None:
        """Close the database. Idempotent; waits for a write in progress."""
        with self._lock, self._reader_lock:
            if not self._closed:
                self._closed = True
                self._reader_root.close()
                self._con.close()

    # internals --------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"event store {self.path} is closed")

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._reader_lock:
            self._check_open()
            return self._reader_root.cursor()

    def _read(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        cur = self._cursor()
        try:
            return [tuple(r) for r in cur.execute(sql, list(params)).fetchall()]
        finally:
            cur.close()
