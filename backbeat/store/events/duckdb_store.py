"""The DuckDB event store: the default backend, one file in the data directory.

Writes arrive as Arrow tables and are inserted set-at-a-time (row-at-a-time INSERTs or
``executemany`` run at about 700 rows/s; Arrow batches at about a million). Each batch is
one transaction:

1. duplicates inside the batch are dropped (first occurrence wins);
2. ids already stored are removed by an anti-join. The probe reads only the stored ids
   between the batch's smallest and largest id; with time-ordered UUIDv7 ids DuckDB's
   zone maps skip almost every row group, so the cost stays flat as the table grows;
3. the remaining rows go into ``events`` and, aggregated by hour and each rollup's
   dimensions (:data:`~backbeat.store.events.schema.ROLLUPS`), are merged into the rollup
   tables.

``events`` has no primary key. With one writer per file, the two steps above are what
keeps ids unique; a key on ``id`` (an ART index) added nothing but cost: on 5 million
events it made the file 2.7 times as large (583 against 215 MB) and every append slower
(see docs/benchmarks.md, "Session 9"). A file written by an older version, whose table
has the key, is rewritten without it on open.

The rollups have no index: a merge joins the batch's groups with the rollup rows of the
batch's hours only (a bound ``hour BETWEEN`` that zone maps turn into a read of the last
few row groups, since rows arrive roughly in time order), updates the groups that exist
and inserts the others. That costs less than an upsert into a primary key, whose index
grows with the table. One writer at a time keeps every (hour, dimensions) key unique. A
batch holding events much older than the rest (a spool replayed after a crash) is merged
one span of consecutive hours at a time, so the old rows cost a read of their own hours,
not of every hour in between.

**Checkpoints follow the row groups.** DuckDB stores a table in row groups of 122,880 rows
and, by default, checkpoints (compresses what its WAL holds into the file) whenever the WAL
passes 16 MB. Each checkpoint rewrites, compressed, the last row group it leaves partly
filled, so checkpoints at arbitrary points compress the same rows again and again: a
million events cost 18.0–18.4 s of CPU to append and checkpoint that way, with 18 appends
of 570–790 ms that checkpointed. The store therefore checkpoints itself, right after the
append whose rows fill a row group of ``events``: 14.8–16.2 s for the same million, with 8
such appends of 480–1,030 ms, and a file 12% larger (docs/benchmarks.md, session 12).
DuckDB's own threshold stays as a backstop (:data:`WAL_BACKSTOP`), so the WAL holds at most
about a row group's events (some 36 MB with the rollups' changes), which a restart replays
in under half a second. A failed checkpoint does not fail the append, which is committed by
then; the next boundary, the backstop or closing the file tries again.

A store opened with a `background` niceness (a background store: the ingest process's, or
the single process's writer) runs its checkpoints on a thread of their own,
:data:`CHECKPOINT_NICE_STEP` lower again (niceness 10 by default), while the appending
thread waits. A checkpoint is the most CPU a write costs at once (hundreds of
milliseconds); at the store's own niceness it competed for the background share of the
cores with the ingest's counting thread, whose lag reaches the workers as bursts of
effects. Not lower still: at niceness 19 a checkpoint under overload would get about 1% of
a core and hold storing up, then counting, for many seconds. Appends wait meanwhile, as
they did; counting goes on, up to its backlog. This holds with one DuckDB thread (the
ingest process's default, `threads=1`): with more, DuckDB may hand much of a checkpoint's
compression to its pool, which runs at the store's own niceness.

On open, a rollup table that is missing or has other columns (a database written by an
older version) is rebuilt from the raw events, in one transaction.

DuckDB lets one process hold the file. Inside it, the single writer uses the main connection
(serialised by a lock) and every read opens its own cursor, i.e. its own connection to the
same database, so analytics never blocks on, nor sees half of, a write (MVCC snapshots).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Collection, Sequence
from concurrent import futures
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from backbeat.domain.events import Event, EventType
from backbeat.errors import ValidationFailed
from backbeat.priority import Background, lower_to, niceness, thread_ids
from backbeat.store.events.schema import (
    ARROW_SCHEMA,
    COLUMNS,
    ROLLUP_BLANK_FOR_NULL,
    ROLLUP_MEASURES,
    ROLLUPS,
    Rollup,
    naive_utc,
    to_arrow,
)

log = logging.getLogger(__name__)

# DuckDB's row group size (rows); the store checkpoints when ``events`` fills one.
ROW_GROUP_ROWS = 122_880
# DuckDB's own checkpoint_threshold once the store checkpoints itself: only a backstop.
WAL_BACKSTOP = "256MiB"
# A background store's checkpoints run this much lower than its appends (at most 19).
CHECKPOINT_NICE_STEP = 5

_SQL_TYPES = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN"}


def _sql_type(typ: pa.DataType) -> str:
    return "TIMESTAMP" if pa.types.is_timestamp(typ) else _SQL_TYPES[typ]


def _events_ddl(table: str = "events") -> str:
    cols = []
    for name, typ, nullable in COLUMNS:
        cols.append(f"{name} {_sql_type(typ)}{'' if nullable else ' NOT NULL'}")
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(cols) + "\n)"


def _rollup_columns(rollup: Rollup) -> list[tuple[str, str]]:
    """(name, SQL type) of a rollup table's columns, in order."""
    types = {name: _sql_type(typ) for name, typ, _ in COLUMNS}
    return [
        ("hour", "TIMESTAMP"),
        *((d, types[d]) for d in rollup.dimensions),
        *((m, "BIGINT") for m in ROLLUP_MEASURES),
    ]


def _rollup_ddl(rollup: Rollup) -> str:
    body = ",\n  ".join(f"{n} {t} NOT NULL" for n, t in _rollup_columns(rollup))
    return f"CREATE TABLE {rollup.table} (\n  {body}\n)"


def _rollup_groups(rollup: Rollup, source: str) -> str:
    """`source`'s events aggregated into the rollup's rows."""
    dims = [
        f"coalesce({d}, '') AS {d}" if d in ROLLUP_BLANK_FOR_NULL else d
        for d in rollup.dimensions
    ]
    return (
        f"SELECT date_trunc('hour', ts) AS hour, {', '.join(dims)}, count(*) AS event_count, "
        "sum(price_micros) AS price_micros, sum(value_micros) AS value_micros "
        f"FROM {source} GROUP BY ALL"
    )


def _rollup_merge(rollup: Rollup) -> str:
    """Add the ``_fresh`` rows of a span of hours into the rollup. Parameters: the span's
    first and last hour, twice (they pick the batch's rows and bound the rollup rows the
    join reads)."""
    keys = ("hour", *rollup.dimensions)
    on = " AND ".join(f"r.{k} = g.{k}" for k in keys)
    add = ", ".join(f"{m} = r.{m} + g.{m}" for m in ROLLUP_MEASURES)
    values = ", ".join(f"g.{c}" for c, _ in _rollup_columns(rollup))
    source = "(SELECT * FROM _fresh WHERE date_trunc('hour', ts) BETWEEN ? AND ?)"
    return (
        f"MERGE INTO {rollup.table} r USING ({_rollup_groups(rollup, source)}) g "
        f"ON r.hour BETWEEN ? AND ? AND {on} "
        f"WHEN MATCHED THEN UPDATE SET {add} "
        f"WHEN NOT MATCHED THEN INSERT VALUES ({values})"
    )


_FRESH = (
    "CREATE OR REPLACE TEMP TABLE _fresh AS "
    "SELECT b.* FROM _batch b ANTI JOIN "
    "(SELECT id FROM events WHERE id BETWEEN ? AND ?) e USING (id)"
)
_ROLLUP_MERGES = tuple(_rollup_merge(r) for r in ROLLUPS)
_HOUR = timedelta(hours=1)


def _hour_spans(table: pa.Table) -> list[tuple[datetime, datetime]]:
    """The hours that rows of `table` fall in, as (first, last) spans of consecutive hours:
    one span for a batch of recent events; more when a few are much older (a replay), so
    that no merge reads the rollup rows of the hours in between."""
    hours = pc.unique(pc.floor_temporal(table.column("ts"), unit="hour")).to_pylist()
    spans: list[tuple[datetime, datetime]] = []
    for hour in sorted(hours):
        if spans and hour - spans[-1][1] <= _HOUR:
            spans[-1] = (spans[-1][0], hour)
        else:
            spans.append((hour, hour))
    return spans


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

    `path` may be ``":memory:"`` for a throwaway database. `threads` caps the threads
    DuckDB uses (default: one per core): on a small machine that also serves ads, one
    thread keeps a batch append or a checkpoint from taking every core at once, at the
    price of slower reports. `background` lowers the threads DuckDB starts (its worker
    pool and background threads; :mod:`backbeat.priority`) in niceness and, with its
    `io_idle`, in I/O class, so that the parallel parts of appends, checkpoints and reports
    use the cores serving leaves free, and all of them when it leaves them all."""

    dialect = "duckdb"

    def __init__(
        self,
        path: Path | str,
        *,
        threads: int | None = None,
        background: Background = Background(),
        checkpoint_rows: int | None = ROW_GROUP_ROWS,
    ) -> None:
        if checkpoint_rows is not None and (
            isinstance(checkpoint_rows, bool) or checkpoint_rows < 1
        ):
            raise ValueError("checkpoint_rows must be a positive integer or None")
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        before = thread_ids()
        self._con = duckdb.connect(self.path)
        self._lock = threading.Lock()  # one write at a time on the main connection
        self._con.execute("SET enable_progress_bar = false")  # a rebuild would draw one
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                raise ValueError("threads must be a positive integer")
            self._con.execute(f"SET threads = {threads}")
        # DuckDB starts its threads with the connection (and with SET threads): any thread
        # that appeared meanwhile is one of them.
        self.background_threads = thread_ids() - before
        self.background = background
        background.lower(self.background_threads)
        self._con.execute(_events_ddl())
        self._drop_events_key()
        self._ensure_rollups()
        self._checkpoint_rows = None if str(path) == ":memory:" else checkpoint_rows
        if self._checkpoint_rows is not None:
            self._con.execute(f"SET checkpoint_threshold = '{WAL_BACKSTOP}'")
        ((rows,),) = self._con.execute("SELECT count(*) FROM events").fetchall()
        self._rows = int(rows)
        self.checkpoints = 0  # the store's own, after appends (not DuckDB's backstop)
        self._checkpointer = (
            futures.ThreadPoolExecutor(
                1, "duckdb-ckpt",  # its kernel name: "duckdb-ckpt_0"
                initializer=functools.partial(
                    lower_to, min(19, niceness() + background.nice + CHECKPOINT_NICE_STEP),
                    io_idle=background.io_idle,
                ),
            )
            if background.nice > 0 and self._checkpoint_rows is not None
            else None
        )
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
        spans = _hour_spans(table)
        with self._lock:
            self._check_open()
            con = self._con
            con.register("_batch", table)
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute(_FRESH, [lo, hi])
                    con.execute("INSERT INTO events SELECT * FROM _fresh")
                    for merge in _ROLLUP_MERGES:
                        for first, last in spans:
                            con.execute(merge, [first, last, first, last])
                    row = con.execute("SELECT count(*) FROM _fresh").fetchone()
                    con.execute("DROP TABLE _fresh")
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            finally:
                con.unregister("_batch")
            stored = int(row[0]) if row else 0
            self._after_append(stored)
        return stored

    def _after_append(self, stored: int) -> None:
        """Checkpoint if the `stored` rows just committed filled a row group (see the
        module's docstring). Called holding the write lock."""
        before, self._rows = self._rows, self._rows + stored
        every = self._checkpoint_rows
        if every is None or self._rows // every == before // every:
            return
        try:
            self._run_checkpoint()
        except Exception:  # the rows are committed: this append has succeeded
            log.warning(
                "event store: checkpoint after %d rows failed; the rows are committed and"
                " the next checkpoint will carry them", self._rows, exc_info=True,
            )
            return
        self.checkpoints += 1

    def _run_checkpoint(self) -> None:
        if self._checkpointer is None:
            self._checkpoint()
            return
        try:
            future = self._checkpointer.submit(self._checkpoint)
        except RuntimeError:  # the interpreter is shutting down: it starts no thread
            self._checkpoint()
            return
        try:
            future.result()
        except BaseException:
            # Interrupted while waiting (Ctrl-C during a replay): the connection stays the
            # checkpoint's until it ends, not the next caller's once the lock is let go.
            futures.wait([future])
            raise

    def _checkpoint(self) -> None:
        self._con.execute("CHECKPOINT").fetchall()

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
                if self._checkpointer is not None:
                    self._checkpointer.shutdown()

    # internals --------------------------------------------------------------
    def _drop_events_key(self) -> None:
        """Rewrite an ``events`` table that has a primary key (an older version's) without
        it, in one transaction. DuckDB cannot drop a constraint in place, so the rows are
        copied, in their stored order, into a new table that takes the old one's name."""
        keyed = self._con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE schema_name = 'main' "
            "AND table_name = 'events' AND constraint_type = 'PRIMARY KEY'"
        ).fetchone()
        if not keyed or not keyed[0]:
            return
        log.info("rewriting the events table without its primary key (once)")
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(_events_ddl("_events_unkeyed"))
            con.execute("INSERT INTO _events_unkeyed SELECT * FROM events")
            con.execute("DROP TABLE events")
            con.execute("ALTER TABLE _events_unkeyed RENAME TO events")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("CHECKPOINT")  # give the index's blocks back to the file now

    def _ensure_rollups(self) -> None:
        """Create each rollup table that is missing, or rebuild one whose columns differ
        (an older version's), from the events already stored."""
        for rollup in ROLLUPS:
            have = self._con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                [rollup.table],
            ).fetchall()
            want = _rollup_columns(rollup)
            if [(str(n), str(t)) for n, t in have] == want:
                continue
            log.info("building rollup %s from the stored events (%s)", rollup.table,
                     "schema changed" if have else "missing")
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DROP TABLE IF EXISTS {rollup.table}")
                con.execute(_rollup_ddl(rollup))
                con.execute(
                    f"INSERT INTO {rollup.table} {_rollup_groups(rollup, 'events')} "
                    "ORDER BY hour"
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

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
