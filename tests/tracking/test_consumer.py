"""The ingest loop over real spools and a real DuckDB store: two workers' hits are counted
in one place (a duplicate across workers is caught), decision events are stored as they
are, effects are published, and a refused write is retried without counting twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from backbeat.config import Settings
from backbeat.domain.events import DropReason, EventType
from backbeat.priority import IOPRIO_CLASS_IDLE, Background, io_class
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.handoff import RowCodec, SpoolSink
from backbeat.store.events.spool_format import EVENT_CODEC
from backbeat.store.events.spool_reader import SpoolReader
from backbeat.tracking.consumer import HitConsumer
from backbeat.tracking.effects import Effects, RecordingCounters
from backbeat.tracking.hits import Counting, Hit, HitCodec
from backbeat.tracking.signing import sign
from tests.store.events.builders import make_event
from tests.test_priority import nice_of
from tests.tracking.conftest import NOW, SECRET, make_payload
from tests.tracking.test_hits import hit

DECISIONS = [f"019ac9f0-3a40-7c3e-9a1b-00000000010{i}" for i in range(4)]


class Loop:
    def __init__(self, root: Path, settings: Settings) -> None:
        self.store = DuckDBEventStore(root / "events.duckdb")
        self.recorder = RecordingCounters(MemoryCounters())
        self.counting = Counting(self.recorder, settings, SECRET, lambda cid: None,
                                 CreativeStats())
        self.published: list[Effects] = []
        self.fail_next = 0
        self.hit_reader: SpoolReader[Hit] = SpoolReader(root / "hits", codec=HitCodec(),
                                                        empty_grace_s=0)
        self.event_reader = SpoolReader(root / "events", codec=RowCodec(), empty_grace_s=0)
        self.consumer = HitConsumer(
            self.hit_reader, self.event_reader, self.counting, self.recorder,
            self.submit, self.published.append,
        )

    def submit(self, table: pa.Table) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise OSError("disk full (test)")
        self.store.append_table(table)

    def close(self) -> None:
        self.hit_reader.close()
        self.event_reader.close()
        self.store.close()


@pytest.fixture
def loop(tmp_path: Path, settings: Settings) -> Iterator[Loop]:
    lp = Loop(tmp_path, settings)
    yield lp
    lp.close()


def imp(decision: str, ident: str, at: float) -> Hit:
    return hit(ident=ident, at=at, token=sign(make_payload(decision_id=decision), SECRET),
               visitor_key=f"k-{ident}")


def test_two_workers_hits_are_counted_once_across_workers(loop: Loop, tmp_path: Path) -> None:
    w1 = SpoolSink(tmp_path / "hits", HitCodec(), prefix="w1")
    w2 = SpoolSink(tmp_path / "hits", HitCodec(), prefix="w2")
    ev = SpoolSink(tmp_path / "events", EVENT_CODEC, prefix="w1")
    w1.submit([imp(DECISIONS[0], "a", NOW + 1), imp(DECISIONS[1], "b", NOW + 2)])
    # the same decision's impression again, through the other worker, a moment later
    w2.submit([imp(DECISIONS[0], "c", NOW + 3)])
    ev.submit([make_event(id="decision-event-1", type=EventType.DECISION, valid=True,
                         drop_reason=None)])
    for sink in (w1, w2, ev):
        sink.close()  # a stopped worker: its last segment is taken too

    loop.consumer.stop(drain=True)
    rows = loop.store.query("SELECT id, type, valid, drop_reason FROM events ORDER BY id")
    assert rows == [
        ("a", "impression", True, None),
        ("b", "impression", True, None),
        ("c", "impression", False, DropReason.DUPLICATE.value),
        ("decision-event-1", "decision", True, None),
    ]
    spend = sum(fx.spend.get((101, "2025-11-28"), 0) for fx in loop.published)
    assert spend == 2 * 2_500
    assert [c for fx in loop.published for c in fx.creatives] == [(202, 2, 0)]
    assert loop.consumer.stats.hits == 3 and loop.consumer.stats.stored == 4
    assert not list((tmp_path / "hits").glob("*/seg-*.log"))  # consumed and removed


def test_a_large_rounds_effects_go_out_in_bounded_messages(
    loop: Loop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backbeat.tracking.consumer.EFFECTS_PER_MESSAGE", 3)
    w1 = SpoolSink(tmp_path / "hits", HitCodec(), prefix="w1")
    decisions = [f"019ac9f0-3a40-7c3e-9a1b-0000000002{i:02d}" for i in range(6)]
    w1.submit([imp(d, f"i{n}", NOW + n) for n, d in enumerate(decisions)])
    w1.close()
    loop.consumer.stop(drain=True)
    assert len(loop.published) > 1
    assert all(len(fx) <= 3 for fx in loop.published)
    # together, what one message would have said: six impressions' spend and exposures
    assert sum(fx.spend.get((101, "2025-11-28"), 0) for fx in loop.published) == 6 * 2_500
    assert len([e for fx in loop.published for e in fx.exposures]) == 6
    assert [c for fx in loop.published for c in fx.creatives] == [(202, 6, 0)]


def test_hits_of_a_round_are_counted_in_time_order(loop: Loop, tmp_path: Path) -> None:
    click = make_payload(kind=EventType.CLICK, decision_id=DECISIONS[2])
    early = SpoolSink(tmp_path / "hits", HitCodec(), prefix="w1")
    late = SpoolSink(tmp_path / "hits", HitCodec(), prefix="w2")
    # worker 1 holds the click (later), worker 2 the impression it needs (earlier)
    early.submit([hit(EventType.CLICK, ident="k", at=NOW + 9, token=sign(click, SECRET))])
    late.submit([imp(DECISIONS[2], "i", NOW + 4)])
    early.close()
    late.close()
    loop.consumer.stop(drain=True)
    rows = {row[0]: row[1] for row in loop.store.query("SELECT id, valid FROM events")}
    assert rows == {"i": True, "k": True}


def test_a_refused_write_is_retried_without_counting_again(loop: Loop, tmp_path: Path) -> None:
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    sink.submit([imp(DECISIONS[3], "x", NOW + 1)])
    sink.close()
    loop.fail_next = 1
    with pytest.raises(OSError):
        loop.consumer.run_once(flush=True)
    assert loop.store.count() == 0
    assert len(loop.published) == 1  # counted (and its effects sent) once, before the store
    assert loop.consumer.run_once(flush=True) == 0  # nothing new to count: only the retry
    assert loop.store.query("SELECT id, valid FROM events") == [("x", True)]
    assert loop.consumer.stats.failures == 1 and loop.consumer.stats.hits == 1
    assert len(loop.published) == 1
    assert not list((tmp_path / "hits").glob("*/seg-*.log"))


def test_a_live_workers_sealed_segments_are_taken_while_it_runs(
    loop: Loop, tmp_path: Path
) -> None:
    sink = SpoolSink(tmp_path / "hits", HitCodec(), seal_ms=10)
    sink.start()
    try:
        sink.submit([imp(DECISIONS[0], "live", NOW + 1)])
        for _ in range(500):
            loop.consumer.run_once(flush=True)
            if loop.store.count():
                break
            time.sleep(0.01)
        assert loop.store.query("SELECT id FROM events") == [("live",)]
    finally:
        sink.close()


def test_storing_waits_for_a_full_batch_or_the_interval(loop: Loop, tmp_path: Path) -> None:
    loop.consumer.flush_rows, loop.consumer.flush_interval_s = 3, 3600.0
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    sink.submit([imp(DECISIONS[0], "p", NOW + 1), imp(DECISIONS[1], "q", NOW + 2)])
    sink.flush()
    assert loop.consumer.run_once() == 1
    assert loop.store.count() == 0 and len(loop.published) == 1  # counted, not yet stored
    assert loop.consumer.run_once() == 0  # a segment is taken once
    sink.submit([imp(DECISIONS[2], "r", NOW + 3)])
    sink.flush()
    loop.consumer.run_once()  # three waiting: a full batch
    assert loop.store.count() == 3
    sink.submit([imp(DECISIONS[3], "s", NOW + 4)])
    sink.close()
    loop.consumer.flush_interval_s = 0.0
    loop.consumer.run_once()
    assert loop.store.count() == 4


def test_the_counting_and_store_threads_run_below_the_serving_threads(loop: Loop) -> None:
    own = nice_of(threading.get_native_id())
    own_io = io_class(threading.get_native_id())
    loop.consumer.background = Background(5, io_idle=True)
    loop.consumer.start()
    try:
        for thread in (loop.consumer._thread, loop.consumer._storer):
            assert thread is not None and thread.native_id is not None
            deadline = time.monotonic() + 10
            while nice_of(thread.native_id) == own and time.monotonic() < deadline:
                time.sleep(0.01)
            assert nice_of(thread.native_id) == min(19, own + 5)
            assert io_class(thread.native_id) == IOPRIO_CLASS_IDLE
        assert nice_of(threading.get_native_id()) == own  # the rest of the process is not
        assert io_class(threading.get_native_id()) == own_io
    finally:
        loop.consumer.stop(drain=False)


def hold_appends(loop: Loop) -> tuple[threading.Event, threading.Event]:
    """Make every append wait for `release` (an append held up: a checkpoint, say); store
    one-row batches and poll fast. Returns (release, entered: an append has started)."""
    release, entered = threading.Event(), threading.Event()
    inner = loop.submit

    def held_submit(table: pa.Table) -> None:
        entered.set()
        assert release.wait(10)
        inner(table)

    loop.consumer.submit = held_submit
    loop.consumer.flush_rows, loop.consumer.poll_s = 1, 0.005
    return release, entered


def spool_and_count(loop: Loop, sink: SpoolSink[Hit], one: Hit, counted: int) -> None:
    """Spool one hit, seal its segment, and wait until the running loop has counted
    `counted` hits in all."""
    sink.submit([one])
    sink.flush()
    deadline = time.monotonic() + 10
    while loop.consumer.stats.hits < counted and time.monotonic() < deadline:
        time.sleep(0.005)


def test_counting_goes_on_while_the_store_thread_stores(loop: Loop, tmp_path: Path) -> None:
    release, entered = hold_appends(loop)
    loop.fail_next = 1  # the first append also fails once: the store thread retries it
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    loop.consumer.start()
    try:
        spool_and_count(loop, sink, imp(DECISIONS[0], "first", NOW + 1), 1)
        assert entered.wait(10)
        for n, name in ((2, "second"), (3, "third")):  # two rounds while it is held
            spool_and_count(loop, sink, imp(DECISIONS[n - 1], name, NOW + n), n)
        deadline = time.monotonic() + 10
        # counted, their effects published, while the first batch's append is still held
        assert loop.consumer.stats.hits == 3 and len(loop.published) == 3
        assert loop.store.count() == 0
        # both sealed segments are still spooled (and the open one)
        assert len(list((tmp_path / "hits").glob("*/seg-*.log"))) >= 2
        release.set()
        while loop.consumer.stats.flushes < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert sorted(loop.store.query("SELECT id FROM events")) == [
            ("first",), ("second",), ("third",)
        ]
        # the two rounds counted meanwhile went to the store as one append
        assert loop.consumer.stats.failures == 1 and loop.consumer.stats.flushes == 2
    finally:
        release.set()
        sink.close()
        loop.consumer.stop(drain=True)
    assert not list((tmp_path / "hits").glob("*/seg-*.log"))
    assert loop.store.count() == 3  # each stored once


def test_stopping_with_the_drain_stores_what_the_store_thread_still_held(
    loop: Loop, tmp_path: Path
) -> None:
    loop.consumer.flush_rows, loop.consumer.poll_s = 1, 0.005
    loop.fail_next = 3  # the store thread is still retrying when the stop comes
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    loop.consumer.start()
    sink.submit([imp(DECISIONS[0], "held", NOW + 1)])
    sink.close()
    deadline = time.monotonic() + 10
    while loop.consumer.stats.failures < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    loop.consumer.stop(drain=True)
    assert loop.store.query("SELECT id, valid FROM events") == [("held", True)]
    assert loop.consumer.stats.hits == 1
    assert not list((tmp_path / "hits").glob("*/seg-*.log"))


def test_counting_waits_once_the_backlog_is_full(
    loop: Loop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backbeat.tracking.consumer.STORE_BACKLOG", 2)
    release, entered = hold_appends(loop)
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    loop.consumer.start()
    try:
        spool_and_count(loop, sink, imp(DECISIONS[0], "h0", NOW + 1), 1)
        assert entered.wait(10)
        for n in (1, 2):  # the backlog: two rows, the most it may hold
            spool_and_count(loop, sink, imp(DECISIONS[n], f"h{n}", NOW + 1 + n), n + 1)
        deadline = time.monotonic() + 10
        sink.submit([imp(DECISIONS[3], "h3", NOW + 4)])
        sink.flush()
        time.sleep(0.3)
        assert loop.consumer.stats.hits == 3  # waiting for the store thread, not counting
        release.set()
        while loop.consumer.stats.stored < 4 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert loop.store.count() == 4 and loop.consumer.stats.hits == 4
    finally:
        release.set()
        sink.close()
        loop.consumer.stop(drain=True)


def test_wait_stored_returns_once_everything_counted_before_it_is_stored(
    loop: Loop, tmp_path: Path
) -> None:
    assert loop.consumer.wait_stored(0)  # nothing counted yet
    release, entered = hold_appends(loop)
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    loop.consumer.start()
    try:
        spool_and_count(loop, sink, imp(DECISIONS[0], "first", NOW + 1), 1)
        assert entered.wait(10)
        assert len(loop.published) == 1  # its effects are out, its row is not stored
        assert not loop.consumer.wait_stored(0.2)
        release.set()
        assert loop.consumer.wait_stored(10)
        assert loop.store.query("SELECT id FROM events") == [("first",)]
    finally:
        release.set()
        sink.close()
        loop.consumer.stop(drain=True)


def test_wait_stored_waits_for_rounds_still_in_the_open_batch(loop: Loop, tmp_path: Path) -> None:
    """A round counted into a batch that is not due yet (the flush interval): the wait
    lasts until that batch is stored, not just until the store thread is idle."""
    loop.consumer.flush_rows, loop.consumer.poll_s = 1_000, 0.005
    loop.consumer.flush_interval_s = 0.4
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    loop.consumer.start()
    try:
        spool_and_count(loop, sink, imp(DECISIONS[0], "late", NOW + 1), 1)
        started = time.monotonic()
        assert loop.consumer.wait_stored(10)
        assert loop.store.query("SELECT id FROM events") == [("late",)]
        assert time.monotonic() - started < 5
    finally:
        sink.close()
        loop.consumer.stop(drain=True)


def test_wait_settled_waits_for_a_segment_sealed_before_it_to_be_counted_and_stored(
    loop: Loop, tmp_path: Path
) -> None:
    """wait_stored covers what was counted; wait_settled also what was ready but not taken
    yet (a click a conversion names, sealed a moment before)."""
    loop.consumer.flush_rows, loop.consumer.poll_s = 1_000, 0.05
    loop.consumer.flush_interval_s = 0.3
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    loop.consumer.start()
    try:
        time.sleep(0.1)  # the loop is polling: nothing is ready
        sink.submit([imp(DECISIONS[0], "sealed", NOW + 1)])
        sink.flush()  # sealed: ready, maybe not yet counted
        started = time.monotonic()
        assert loop.consumer.wait_settled(10)
        assert loop.store.query("SELECT id FROM events") == [("sealed",)]
        assert time.monotonic() - started < 5
    finally:
        sink.close()
        loop.consumer.stop(drain=True)


def test_wait_settled_gives_up_without_a_running_loop(loop: Loop) -> None:
    started = time.monotonic()
    assert not loop.consumer.wait_settled(0.2)
    assert time.monotonic() - started < 2


def _click(decision: str, ident: str, at: float) -> Hit:
    token = sign(make_payload(kind=EventType.CLICK, decision_id=decision), SECRET)
    return hit(EventType.CLICK, ident=ident, at=at, token=token, visitor_key=f"k-{ident}")


def _stored(loop: Loop) -> list[tuple[object, ...]]:
    return loop.store.query("SELECT id, type, valid, drop_reason FROM events ORDER BY ts")


def test_a_click_ready_before_its_impression_waits_for_it(loop: Loop, tmp_path: Path) -> None:
    """Two workers: the click's segment is sealed a round before the segment holding the
    impression another worker took a moment earlier. Counted at once, the click would be
    "no impression"; held back, both count."""
    loop.consumer.defer_clicks_s = 5.0
    now = time.time()
    w1 = SpoolSink(tmp_path / "hits", HitCodec(), prefix="w1")
    w2 = SpoolSink(tmp_path / "hits", HitCodec(), prefix="w2")
    try:
        w2.submit([_click(DECISIONS[0], "click", now - 0.01)])
        w2.flush()  # sealed: ready
        w1.submit([imp(DECISIONS[0], "imp", now - 0.02)])  # not sealed yet
        loop.consumer.run_once(flush=True)
        assert loop.consumer.stats.hits == 0 and _stored(loop) == []
        click_segment = min((tmp_path / "hits").glob("w2*/seg-*.log"))  # the sealed one
        assert click_segment.stat().st_size > 0  # kept while its click is not counted

        w1.flush()
        loop.consumer.run_once(flush=True)
        assert _stored(loop) == [("imp", "impression", True, None), ("click", "click", True, None)]
        assert loop.consumer.stats.hits == 2
        assert not click_segment.exists()  # removed once its click was stored
    finally:
        w1.close()
        w2.close()


def test_a_held_click_counts_as_no_impression_once_none_came(loop: Loop, tmp_path: Path) -> None:
    loop.consumer.defer_clicks_s = 0.3
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    try:
        sink.submit([_click(DECISIONS[1], "orphan", time.time())])
        sink.flush()
        loop.consumer.run_once(flush=True)
        assert _stored(loop) == []  # held
        time.sleep(0.35)
        loop.consumer.run_once(flush=True)  # no new segment: the held click is due
        assert _stored(loop) == [("orphan", "click", False, "no_impression")]
    finally:
        sink.close()


def test_stopping_counts_the_held_clicks(loop: Loop, tmp_path: Path) -> None:
    loop.consumer.defer_clicks_s = 60.0
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    sink.submit([_click(DECISIONS[2], "last", time.time())])
    sink.close()
    loop.consumer.run_once()
    assert _stored(loop) == []
    loop.consumer.stop(drain=True)
    assert _stored(loop) == [("last", "click", False, "no_impression")]
    assert not list((tmp_path / "hits").glob("*/seg-*.log"))


def test_clicks_are_not_held_when_the_impression_is_counted_or_holding_is_off(
    loop: Loop, tmp_path: Path
) -> None:
    loop.consumer.defer_clicks_s = 60.0
    sink = SpoolSink(tmp_path / "hits", HitCodec())
    try:
        sink.submit([imp(DECISIONS[3], "seen", time.time() - 1)])
        sink.flush()
        loop.consumer.run_once(flush=True)
        sink.submit([_click(DECISIONS[3], "fast", time.time())])
        sink.flush()
        loop.consumer.run_once(flush=True)
        assert [r[0] for r in _stored(loop)] == ["seen", "fast"]
        loop.consumer.defer_clicks_s = 0.0
        sink.submit([_click(DECISIONS[0], "unheld", time.time())])
        sink.flush()
        loop.consumer.run_once(flush=True)
        assert _stored(loop)[-1] == ("unheld", "click", False, "no_impression")
    finally:
        sink.close()
