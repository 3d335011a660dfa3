"""DuckDB specifics: the file persists, readers run beside the writer, ids in any order,
rollups merge late events and are rebuilt when an older version wrote the file, and an
older version's primary key on the events is dropped."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from backbeat.priority import Background
from backbeat.store.events.duckdb_store import DuckDBEventStore, _events_ddl
from backbeat.store.events.schema import (
    ROLLUP_BLANK_FOR_NULL,
    ROLLUP_MEASURES,
    ROLLUP_TABLE,
    ROLLUPS,
    Rollup,
    to_arrow,
)
from tests.store.events.builders import make_event, make_events


def test_data_and_idempotence_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "events.duckdb"
    events = make_events(500, seed=1)
    first = DuckDBEventStore(path)
    assert first.append_batch(events[:300]) == 300
    first.close()
    second = DuckDBEventStore(path)
    try:
        assert second.count() == 300
        assert second.append_batch(events) == 200
        assert second.query(f"SELECT sum(event_count) FROM {ROLLUP_TABLE}") == [(500,)]
    finally:
        second.close()


def test_ids_in_random_order_are_deduplicated(tmp_path: Path) -> None:
    # Random (UUIDv4-like) ids defeat the id-range pruning but must not defeat dedupe.
    rng = random.Random(4)
    events = [make_event(id=f"{rng.getrandbits(128):032x}", seed=i) for i in range(400)]
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    try:
        assert store.append_batch(events[:250]) == 250
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert store.append_batch(shuffled) == 150
        assert store.query("SELECT count(*), count(DISTINCT id) FROM events") == [(400, 400)]
    finally:
        store.close()


def test_readers_see_whole_batches_while_the_writer_appends(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    batches = [make_events(200, seed=s, start=make_events(1)[0].ts) for s in range(20)]
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                (row,) = store.query("SELECT count(*) FROM events")
                seen.append(int(row[0]))  # type: ignore[call-overload]
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for batch in batches:
            assert store.append_batch(batch) == 200
    finally:
        stop.set()
        for t in readers:
            t.join()
        store.close()
    assert not errors
    assert seen
    assert all(n % 200 == 0 for n in seen)  # a batch is one transaction
    assert max(seen) <= 4000


def test_memory_database(tmp_path: Path) -> None:
    store = DuckDBEventStore(":memory:")
    try:
        assert store.append_batch(make_events(10)) == 10
        assert store.count() == 10
    finally:
        store.close()


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.append_batch(make_events(1))
    with pytest.raises(RuntimeError, match="closed"):
        store.count()


def test_append_table_requires_the_event_schema(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    try:
        with pytest.raises(ValueError, match="to_arrow"):
            store.append_table(pa.table({"id": ["a"]}))
        assert store.append_table(to_arrow(make_events(3))) == 3
    finally:
        store.close()


def rollup_rows(store: DuckDBEventStore, rollup: Rollup) -> list[tuple[object, ...]]:
    cols = ", ".join(("hour", *rollup.dimensions, *ROLLUP_MEASURES))
    return store.query(f"SELECT {cols} FROM {rollup.table} ORDER BY ALL")


def rollup_from_events(store: DuckDBEventStore, rollup: Rollup) -> list[tuple[object, ...]]:
    """The rollup as SQL over the raw events would compute it, for comparison."""
    dims = ", ".join(f"coalesce({d}, '')" if d in ROLLUP_BLANK_FOR_NULL else d
                     for d in rollup.dimensions)
    return store.query(
        f"SELECT date_trunc('hour', ts), {dims}, count(*), sum(price_micros), "
        "sum(value_micros) FROM events GROUP BY ALL ORDER BY ALL")


def test_late_events_merge_into_their_old_hours(tmp_path: Path) -> None:
    events = make_events(1200, seed=3, step_ms=9_000)  # three hours
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    try:
        store.append_batch(events[600:])
        # Late rows: the first hour again (the same keys as stored rows and new ones),
        # and a batch spanning all three hours at once.
        store.append_batch(events[:300])
        store.append_batch(events[250:700] + events[1100:])
        for rollup in ROLLUPS:
            rows = rollup_rows(store, rollup)
            assert len(rows) > 3
            assert rows == rollup_from_events(store, rollup)
            keys = [r[: 1 + len(rollup.dimensions)] for r in rows]
            assert len(keys) == len(set(keys))  # one row per hour and key
        assert store.query(f"SELECT sum(event_count) FROM {ROLLUP_TABLE}") == [(1200,)]
    finally:
        store.close()


def test_a_batch_with_far_apart_hours_merges_each_span(tmp_path: Path) -> None:
    # A replayed spool: a few events from yesterday arrive with today's.
    early = make_events(300, seed=10, step_ms=20_000)  # hours 9-10
    later = make_events(300, seed=11, start=early[0].ts + timedelta(hours=20),
                        step_ms=20_000)  # twenty hours on
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    try:
        store.append_batch(early[:200] + later[:200])
        store.append_batch(early[150:] + later[150:])  # stored hours on both sides again
        rows = rollup_rows(store, ROLLUPS[0])
        assert rows == rollup_from_events(store, ROLLUPS[0])
        assert len({r[0] for r in rows}) >= 4  # hours of both spans, none between
        assert store.query(f"SELECT sum(event_count) FROM {ROLLUP_TABLE}") == [(600,)]
    finally:
        store.close()


# The rollup as versions before the campaign/site split created it: 16 dimensions and a
# primary key over all of them.
_OLD_ROLLUP = """CREATE TABLE events_hourly (
  hour TIMESTAMP NOT NULL, campaign_id BIGINT NOT NULL, creative_id BIGINT NOT NULL,
  site_id BIGINT NOT NULL, placement_id BIGINT NOT NULL, advertiser_id BIGINT NOT NULL,
  publisher_id BIGINT NOT NULL, country VARCHAR NOT NULL, device VARCHAR NOT NULL,
  format VARCHAR NOT NULL, size VARCHAR NOT NULL, genre VARCHAR NOT NULL,
  genre_match BOOLEAN NOT NULL, objective VARCHAR NOT NULL, type VARCHAR NOT NULL,
  valid BOOLEAN NOT NULL, drop_reason VARCHAR NOT NULL, event_count BIGINT NOT NULL,
  price_micros BIGINT NOT NULL, value_micros BIGINT NOT NULL,
  PRIMARY KEY (hour, campaign_id, creative_id, site_id, placement_id, advertiser_id,
    publisher_id, country, device, format, size, genre, genre_match, objective, type, valid,
    drop_reason))"""


def test_opening_an_older_database_rebuilds_the_rollups(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    events = make_events(900, seed=5, step_ms=20_000)  # five hours
    store = DuckDBEventStore(path)
    store.append_batch(events)
    store.close()
    # Turn the file into what an older version left: its rollup.
    con = duckdb.connect(str(path))
    con.execute(f"DROP TABLE {ROLLUP_TABLE}")
    con.execute(_OLD_ROLLUP)
    con.execute("INSERT INTO events_hourly SELECT date_trunc('hour', ts), campaign_id, "
                "creative_id, site_id, placement_id, advertiser_id, publisher_id, country, "
                "device, format, size, genre, genre_match, objective, type, valid, "
                "coalesce(drop_reason, ''), count(*), sum(price_micros), sum(value_micros) "
                "FROM events GROUP BY ALL")
    con.close()

    reopened = DuckDBEventStore(path)
    try:
        for rollup in ROLLUPS:
            assert len(rollup_rows(reopened, rollup)) > 5
            assert rollup_rows(reopened, rollup) == rollup_from_events(reopened, rollup)
        # ... and they stay right as writing goes on.
        more = make_events(300, seed=6, start=events[-1].ts, step_ms=20_000)
        assert reopened.append_batch(more) == 300
        for rollup in ROLLUPS:
            assert rollup_rows(reopened, rollup) == rollup_from_events(reopened, rollup)
        assert reopened.query(f"SELECT sum(event_count) FROM {ROLLUP_TABLE}") == [(1200,)]
    finally:
        reopened.close()


def _keys(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT constraint_type FROM duckdb_constraints() "
        "WHERE table_name = 'events' AND constraint_type = 'PRIMARY KEY'"
    ).fetchall()


def test_an_older_versions_events_key_is_dropped_on_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keyed.duckdb"
    events = make_events(600, seed=8, step_ms=20_000)
    # The events table as versions before session 9 created it: a primary key on id.
    con = duckdb.connect(str(path))
    ddl = _events_ddl().replace("\n  id VARCHAR NOT NULL", "\n  id VARCHAR PRIMARY KEY")
    assert "PRIMARY KEY" in ddl
    con.execute(ddl)
    con.register("_old", to_arrow(events[:400]))
    con.execute("INSERT INTO events SELECT * FROM _old")
    stored_order = con.execute("SELECT id FROM events").fetchall()
    assert _keys(con)
    con.close()

    with caplog.at_level("INFO", logger="backbeat.store.events.duckdb_store"):
        store = DuckDBEventStore(path)
    try:
        assert "without its primary key" in caplog.text
        assert store.count() == 400
        assert store.query("SELECT id FROM events") == stored_order  # order kept
        # Deduplication does not lean on the key: the rows already stored are skipped.
        assert store.append_batch(events) == 200
        assert store.append_batch(events[350:450]) == 0
        assert store.count() == 600
        assert store.query("SELECT count(DISTINCT id) FROM events") == [(600,)]
        for rollup in ROLLUPS:
            assert rollup_rows(store, rollup) == rollup_from_events(store, rollup)
    finally:
        store.close()
    con = duckdb.connect(str(path))
    try:
        assert _keys(con) == []
        assert con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_events_unkeyed'"
        ).fetchone() == (0,)
    finally:
        con.close()

    caplog.clear()
    with caplog.at_level("INFO", logger="backbeat.store.events.duckdb_store"):
        DuckDBEventStore(path).close()  # a current file is not rewritten again
    assert "primary key" not in caplog.text


def test_a_missing_rollup_is_built_on_open(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    store = DuckDBEventStore(path)
    store.append_batch(make_events(400, seed=9, step_ms=30_000))
    store.close()
    con = duckdb.connect(str(path))
    con.execute(f"DROP TABLE {ROLLUP_TABLE}")
    con.close()
    reopened = DuckDBEventStore(path)
    try:
        rows = rollup_rows(reopened, ROLLUPS[0])
        assert len(rows) > 3 and rows == rollup_from_events(reopened, ROLLUPS[0])
    finally:
        reopened.close()


def test_a_current_rollup_is_left_alone_on_open(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    store = DuckDBEventStore(path)
    store.append_batch(make_events(50, seed=8))
    store.close()
    # A marker row that no rebuild would keep: opening must not rebuild a current table.
    con = duckdb.connect(str(path))
    con.execute(f"UPDATE {ROLLUP_TABLE} SET event_count = event_count + 1000 WHERE rowid = 0")
    con.close()
    reopened = DuckDBEventStore(path)
    try:
        assert reopened.query(f"SELECT sum(event_count) FROM {ROLLUP_TABLE}") == [(1050,)]
    finally:
        reopened.close()


def test_duckdbs_own_threads_run_below_the_callers(tmp_path: Path) -> None:
    from backbeat.priority import IOPRIO_CLASS_IDLE, io_class
    from tests.test_priority import nice_of

    own = nice_of(threading.get_native_id())
    store = DuckDBEventStore(tmp_path / "events.duckdb", background=Background(4, True))
    try:
        assert store.background_threads  # DuckDB starts its pool with the connection
        alive = [t for t in store.background_threads if Path(f"/proc/self/task/{t}").exists()]
        assert alive and all(nice_of(t) == min(19, own + 4) for t in alive)
        assert all(io_class(t) == IOPRIO_CLASS_IDLE for t in alive)
        assert io_class(threading.get_native_id()) != IOPRIO_CLASS_IDLE
        assert nice_of(threading.get_native_id()) == own  # the caller is not lowered
        store.append_batch(make_events(100))  # and still works, in parallel where it can
        assert store.count() == 100
    finally:
        store.close()


def wal_bytes(path: Path) -> int:
    wal = Path(f"{path}.wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_store_checkpoints_when_its_stored_rows_fill_a_row_group(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    events = make_events(1200)
    store = DuckDBEventStore(path, checkpoint_rows=500)
    try:
        assert store.append_batch(events[:300]) == 300
        assert store.checkpoints == 0 and wal_bytes(path) > 0
        assert store.append_batch(events[:300]) == 0  # rows offered again are not stored
        assert store.checkpoints == 0 and wal_bytes(path) > 0
        assert store.append_batch(events[300:600]) == 300  # 600 stored: past 500
        assert store.checkpoints == 1 and wal_bytes(path) == 0
        assert store.append_batch(events[600:900]) == 300  # 900: no boundary
        assert store.checkpoints == 1 and wal_bytes(path) > 0
        # DuckDB's own threshold is only a backstop now (its default is 16 MiB).
        ((threshold,),) = store.query("SELECT current_setting('checkpoint_threshold')")
        assert threshold == "256.0 MiB"
    finally:
        store.close()
    reopened = DuckDBEventStore(path, checkpoint_rows=500)  # counts from what is stored
    try:
        assert reopened.append_batch(events[900:1000]) == 100  # 1,000 stored: a boundary
        assert reopened.checkpoints == 1 and wal_bytes(path) == 0
        assert reopened.append_batch(events[1000:1200]) == 200
        assert reopened.checkpoints == 1 and reopened.count() == 1200
    finally:
        reopened.close()


def test_without_checkpoint_rows_duckdbs_threshold_decides(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, checkpoint_rows=None)
    try:
        store.append_batch(make_events(600))
        assert store.checkpoints == 0 and wal_bytes(path) > 0
        ((threshold,),) = store.query("SELECT current_setting('checkpoint_threshold')")
        assert threshold == "16.0 MiB"
    finally:
        store.close()
    for bad in (0, -5, True):
        with pytest.raises(ValueError, match="checkpoint_rows"):
            DuckDBEventStore(tmp_path / "other.duckdb", checkpoint_rows=bad)


def test_a_background_stores_checkpoints_run_below_its_appends(tmp_path: Path) -> None:
    from backbeat.priority import IOPRIO_CLASS_IDLE, io_class
    from tests.test_priority import nice_of

    own = threading.get_native_id()
    ran: list[tuple[int, int, int | None]] = []
    store = DuckDBEventStore(tmp_path / "events.duckdb", background=Background(4, True),
                             checkpoint_rows=100)
    checkpoint = store._checkpoint

    def recorded() -> None:
        me = threading.get_native_id()
        ran.append((me, nice_of(me), io_class(me)))
        checkpoint()

    store._checkpoint = recorded  # type: ignore[method-assign]
    before = nice_of(own)
    def appender() -> None:  # lowered first, as the ingest's store thread is
        from backbeat.priority import lower_priority

        lower_priority(4)
        store.append_batch(make_events(150))
        store.append_batch(make_events(100, seed=2))  # 250: the second boundary

    try:
        thread = threading.Thread(target=appender)
        thread.start()
        thread.join()
        # The opener's niceness, the store's nice, then five more; not added to the
        # appender's own (the checkpoint thread is started from it and inherits it).
        below = min(19, before + 4 + 5)
        assert [(nice, cls) for _, nice, cls in ran] == [(below, IOPRIO_CLASS_IDLE)] * 2
        assert ran[0][0] != own and ran[0][0] == ran[1][0]  # one thread, not the caller's
        comm = Path(f"/proc/self/task/{ran[0][0]}/comm").read_text().strip()
        assert comm == "duckdb-ckpt_0"  # named for tools that sample threads from outside
        assert store.checkpoints == 2 and wal_bytes(tmp_path / "events.duckdb") == 0
        assert nice_of(own) == before and io_class(own) != IOPRIO_CLASS_IDLE
    finally:
        store.close()


def test_a_failed_checkpoint_leaves_the_append_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, checkpoint_rows=100)
    checkpoint = store._checkpoint

    def full_disk() -> None:
        raise duckdb.IOException("No space left on device")

    store._checkpoint = full_disk  # type: ignore[method-assign]
    events = make_events(250)
    try:
        with caplog.at_level("WARNING"):
            assert store.append_batch(events[:150]) == 150
        assert "checkpoint after 150 rows failed" in caplog.text
        assert store.checkpoints == 0 and store.count() == 150 and wal_bytes(path) > 0
        store._checkpoint = checkpoint  # type: ignore[method-assign]
        assert store.append_batch(events[150:]) == 100  # the next boundary carries both
        assert store.checkpoints == 1 and wal_bytes(path) == 0
    finally:
        store.close()
    reopened = DuckDBEventStore(path)
    try:
        assert reopened.count() == 250
    finally:
        reopened.close()


def test_with_one_duckdb_thread_a_checkpoints_cpu_runs_on_the_lowered_thread(
    tmp_path: Path,
) -> None:
    import time

    shares: list[tuple[float, float]] = []
    store = DuckDBEventStore(tmp_path / "events.duckdb", threads=1,
                             background=Background(4, True), checkpoint_rows=3000)
    checkpoint = store._checkpoint

    def measured() -> None:
        thread0, process0 = time.thread_time(), time.process_time()
        checkpoint()
        shares.append((time.thread_time() - thread0, time.process_time() - process0))

    store._checkpoint = measured  # type: ignore[method-assign]
    try:
        store.append_batch(make_events(4000))
        ((on_thread, in_process),) = shares
        # Everything the process spent meanwhile (the appender waits) but a little noise.
        assert in_process > 0 and on_thread >= 0.8 * in_process
    finally:
        store.close()


def test_a_checkpoint_that_cannot_start_a_thread_runs_inline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path, background=Background(4), checkpoint_rows=100)
    assert store._checkpointer is not None
    store._checkpointer.shutdown()  # as at interpreter exit: submit raises RuntimeError
    events = make_events(250)
    try:
        assert store.append_batch(events[:150]) == 150
        assert store.checkpoints == 1 and wal_bytes(path) == 0

        def broken() -> None:
            raise OSError("not a DuckDB error")

        store._checkpoint = broken  # type: ignore[method-assign]
        with caplog.at_level("WARNING"):
            assert store.append_batch(events[150:]) == 100  # still stored, and said so
        assert "checkpoint after 250 rows failed" in caplog.text
        assert store.checkpoints == 1 and store.count() == 250
    finally:
        store.close()
