"""The writer: acknowledgement after spooling, flush by size / interval / close, replay."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from backbeat.domain.events import Event
from backbeat.errors import ValidationFailed
from backbeat.priority import Background
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.schema import to_arrow
from backbeat.store.events.spool import Spool, SpoolUnavailable
from backbeat.store.events.writer import EventWriter, _Item
from tests.store.events.builders import make_event, make_events

HOUR_MS = 3_600_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBEventStore]:
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    yield s
    s.close()


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def submit_in_batches(writer: EventWriter, events: list[Event], size: int) -> None:
    for i in range(0, len(events), size):
        writer.submit(events[i : i + size])


def test_flushes_when_flush_rows_are_queued(tmp_path: Path, store: DuckDBEventStore) -> None:
    writer = EventWriter(
        Spool(tmp_path / "spool"), store, flush_rows=100, flush_interval_ms=HOUR_MS
    )
    writer.start()
    events = make_events(250, seed=1)
    submit_in_batches(writer, events, 10)
    assert wait_for(lambda: store.count() == 200)
    time.sleep(0.2)
    assert store.count() == 200  # the last 50 wait for size, interval or close
    assert writer.stats().queued == 50
    writer.close()
    assert store.count() == 250
    assert store.ids() == {e.id for e in events}


def test_flushes_when_the_interval_passes(tmp_path: Path, store: DuckDBEventStore) -> None:
    writer = EventWriter(Spool(tmp_path / "spool"), store, flush_rows=10_000, flush_interval_ms=50)
    writer.start()
    writer.submit(make_events(30, seed=2))
    # The writer books a flush in its stats just after the store committed it.
    assert wait_for(lambda: store.count() == 30 and writer.stats().flushes >= 1)
    stats = writer.stats()
    assert stats.flushes == 1
    assert stats.last_flush_rows == 30
    assert stats.last_flush_at is not None
    writer.close()


def test_close_flushes_everything_and_empties_the_spool(
    tmp_path: Path, store: DuckDBEventStore
) -> None:
    spool = Spool(tmp_path / "spool", segment_bytes=8192)
    writer = EventWriter(spool, store, flush_rows=100_000, flush_interval_ms=HOUR_MS)
    writer.start()
    events = make_events(500, seed=3)
    submit_in_batches(writer, events, 25)
    time.sleep(0.1)
    assert store.count() == 0
    assert len(spool.segments()) > 1
    writer.close()
    assert store.count() == 500
    assert spool.segments() == []
    writer.close()  # idempotent


def test_flush_waits_for_everything_acknowledged(tmp_path: Path, store: DuckDBEventStore) -> None:
    writer = EventWriter(
        Spool(tmp_path / "spool"), store, flush_rows=10_000, flush_interval_ms=HOUR_MS
    )
    writer.start()
    writer.submit(make_events(40, seed=4))
    assert writer.flush(timeout=5)
    assert store.count() == 40
    stats = writer.stats()
    assert (stats.queued, stats.submitted, stats.written) == (0, 40, 40)
    writer.close()


def test_concurrent_producers_each_event_stored_once(
    tmp_path: Path, store: DuckDBEventStore
) -> None:
    writer = EventWriter(Spool(tmp_path / "spool"), store, flush_rows=64, flush_interval_ms=20)
    writer.start()
    per_thread = {t: make_events(300, seed=10 + t) for t in range(6)}
    threads = [
        threading.Thread(target=submit_in_batches, args=(writer, evs, 7))
        for evs in per_thread.values()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert store.query("SELECT count(*), count(DISTINCT id) FROM events") == [(1800, 1800)]


def test_malformed_events_are_refused_before_spooling(
    tmp_path: Path, store: DuckDBEventStore
) -> None:
    spool = Spool(tmp_path / "spool")
    writer = EventWriter(spool, store, flush_rows=10, flush_interval_ms=10)
    writer.start()
    with pytest.raises(ValidationFailed) as err:
        writer.submit([*make_events(2), make_event(seed=5, campaign_id="41")])
    assert err.value.fields[0].field == "events[2].campaign_id"
    assert spool.stats().records == 0
    writer.close()
    assert store.count() == 0


def test_submit_outside_running_is_refused(tmp_path: Path, store: DuckDBEventStore) -> None:
    writer = EventWriter(Spool(tmp_path / "spool"), store, flush_rows=10, flush_interval_ms=10)
    with pytest.raises(SpoolUnavailable, match="not running"):
        writer.submit(make_events(1))
    writer.start()
    with pytest.raises(RuntimeError):
        writer.start()
    writer.close()
    with pytest.raises(SpoolUnavailable, match="not running"):
        writer.submit(make_events(1))


def test_start_replays_a_crashed_spool_exactly_once(
    tmp_path: Path, store: DuckDBEventStore
) -> None:
    events = make_events(700, seed=6)
    crashed = Spool(tmp_path / "spool", segment_bytes=16_384)
    for i in range(0, 700, 50):
        crashed.append(events[i : i + 50])
    crashed.close()  # nothing marked applied: as if the process died before storing
    store.append_batch(events[:120])  # ...or after storing some, before the checkpoint
    spool = Spool(tmp_path / "spool")
    assert len(spool.segments()) > 2
    writer = EventWriter(spool, store, flush_rows=200, flush_interval_ms=HOUR_MS)
    assert writer.start() == 580
    assert writer.stats().replayed == 580
    assert spool.segments() == []
    assert store.query("SELECT count(*), count(DISTINCT id) FROM events") == [(700, 700)]
    writer.submit(make_events(5, seed=7))
    writer.close()
    assert store.count() == 705


class FlakyStore:
    """Fails the first `failures` appends, then delegates: a real DuckDB store cannot be made
    to fail transiently on demand, so this test double stands in for a full disk."""

    def __init__(self, inner: DuckDBEventStore, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.dialect = inner.dialect
        self.release = threading.Event()
        self.release.set()

    def append_table(self, table: pa.Table) -> int:
        self.release.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("No space left on device")
        return self.inner.append_table(table)

    def append_batch(self, events: Sequence[Event]) -> int:
        return self.append_table(to_arrow(events))

    def count(self, **filters: Any) -> int:
        return self.inner.count(**filters)

    def ids(self, among: Collection[str] | None = None) -> set[str]:
        return self.inner.ids(among)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        return self.inner.query(sql, params)

    def close(self) -> None:
        self.inner.close()


def test_store_failures_are_retried(tmp_path: Path, store: DuckDBEventStore) -> None:
    flaky = FlakyStore(store, failures=2)
    writer = EventWriter(Spool(tmp_path / "spool"), flaky, flush_rows=10, flush_interval_ms=10)
    writer.start()
    writer.submit(make_events(10, seed=8))
    assert wait_for(lambda: flaky.failures == 0)
    assert writer.flush(timeout=5)
    assert store.count() == 10
    assert writer.stats().last_error is None
    writer.close()


def test_close_with_a_failing_store_keeps_events_in_the_spool(
    tmp_path: Path, store: DuckDBEventStore
) -> None:
    flaky = FlakyStore(store, failures=1_000)
    writer = EventWriter(Spool(tmp_path / "spool"), flaky, flush_rows=10, flush_interval_ms=10)
    writer.start()
    events = make_events(30, seed=9)
    writer.submit(events)
    writer.close(timeout=10)
    assert writer.stats().last_error == "OSError: No space left on device"
    assert store.count() == 0
    healthy = EventWriter(Spool(tmp_path / "spool"), store, flush_rows=10, flush_interval_ms=10)
    assert healthy.start() == 30
    healthy.close()
    assert store.ids() == {e.id for e in events}


def test_backpressure_when_the_store_falls_behind(tmp_path: Path, store: DuckDBEventStore) -> None:
    slow = FlakyStore(store, failures=0)
    slow.release.clear()  # the store hangs until released
    writer = EventWriter(
        Spool(tmp_path / "spool"),
        slow,
        flush_rows=10,
        flush_interval_ms=10,
        max_queued_rows=50,
    )
    writer.start()
    acked: list[Event] = []
    with pytest.raises(SpoolUnavailable, match="behind"):
        for i in range(20):
            batch = make_events(10, seed=100 + i)
            writer.submit(batch)
            acked.extend(batch)
    assert 50 <= len(acked) < 200
    slow.release.set()
    writer.close()
    assert store.ids() == {e.id for e in acked}


def test_stats_report_spool_bytes(tmp_path: Path, store: DuckDBEventStore) -> None:
    writer = EventWriter(
        Spool(tmp_path / "spool"), store, flush_rows=1000, flush_interval_ms=HOUR_MS
    )
    writer.start()
    writer.submit(make_events(20, seed=11))
    stats = writer.stats()
    assert stats.queued == 20
    assert stats.spool_bytes > 20 * 100
    writer.close()
    assert writer.stats().spool_bytes == 0


def test_a_batch_arrow_refuses_drops_only_the_bad_submission() -> None:
    # Defence in depth: if validate_events ever let through what Arrow refuses, the writer
    # must not block on that batch forever. Bypass submit() to plant such a submission.
    good = make_events(3, seed=20)
    bad = [make_event(seed=21, price_micros=1.5)]
    table = EventWriter._to_table([_Item(1, good), _Item(2, bad), _Item(2, good[:1])])
    assert table.column("id").to_pylist() == [e.id for e in good] + [good[0].id]


def test_close_during_submits_stores_every_acknowledged_event(
    tmp_path: Path, store: DuckDBEventStore
) -> None:
    spool = Spool(tmp_path / "spool", segment_bytes=16_384)
    writer = EventWriter(spool, store, flush_rows=50, flush_interval_ms=20)
    writer.start()
    acked: list[list[Event]] = [[] for _ in range(4)]

    def produce(k: int) -> None:
        for i in range(10_000):
            batch = make_events(3, seed=1000 * k + i)
            try:
                writer.submit(batch)
            except SpoolUnavailable:
                return
            acked[k].extend(batch)

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    assert wait_for(lambda: sum(map(len, acked)) > 300)
    writer.close()
    for t in threads:
        t.join()
    ids = {e.id for part in acked for e in part}
    assert store.ids(ids) == ids
    assert spool.segments() == []


def test_the_writer_thread_stores_below_the_serving_threads(tmp_path: Path) -> None:
    from backbeat.priority import IOPRIO_CLASS_IDLE, io_class
    from tests.test_priority import nice_of

    seen: list[tuple[int, int | None]] = []

    class Recording(DuckDBEventStore):
        def append_table(self, table: pa.Table) -> int:
            me = threading.get_native_id()
            seen.append((nice_of(me), io_class(me)))
            return super().append_table(table)

    own = threading.get_native_id()
    own_nice, own_io = nice_of(own), io_class(own)
    store = Recording(tmp_path / "events.duckdb")
    writer = EventWriter(Spool(tmp_path / "spool"), store, flush_rows=10,
                         background=Background(5, io_idle=True))
    writer.start()
    try:
        writer.submit(make_events(25))
        assert wait_for(lambda: store.count() == 25)
        assert seen and all(s == (min(19, own_nice + 5), IOPRIO_CLASS_IDLE) for s in seen)
        assert (nice_of(own), io_class(own)) == (own_nice, own_io)  # submitters unchanged
    finally:
        writer.close()
        store.close()
