"""DuckDB specifics: the file persists, readers run beside the writer, ids in any order."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.schema import ROLLUP_TABLE, to_arrow
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
