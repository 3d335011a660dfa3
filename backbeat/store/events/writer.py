"""The event writer: durable acknowledgement through the spool, batched single writer to the store.

Durability contract
-------------------
* :meth:`EventWriter.submit` returns only after the events are fsynced in the spool. That
  return is the acknowledgement: tracking answers a beacon or redirect only after it, so an
  acknowledged event survives a crash of the process or the machine (up to the disk's honesty
  about fsync). If `submit` raises, nothing was acknowledged; the events may or may not be
  spooled, and a retry with the same ids is harmless because the store is idempotent by id.
* Validation happens before spooling, in the caller's thread, so a malformed event is
  refused with ValidationFailed and never poisons the spool. It is a plain Python check
  (microseconds per event); the Arrow conversion happens once per batch in the writer thread,
  because building Arrow arrays for a beacon's single event would cost a millisecond.
* One background thread moves acknowledged events into the store in batches: when
  `flush_rows` are queued, when the oldest queued event has waited `flush_interval_ms`, and
  on :meth:`close`. Events become visible to analytics after that, not at acknowledgement.
* A spool segment is deleted only after every event in it is stored (see
  :meth:`Spool.mark_applied`). A crash between the store's commit and the deletion leaves
  events that are both stored and spooled; :meth:`start` replays every leftover segment and
  the store drops the ids it already has, so each event is stored exactly once.
* If the store fails, the batch stays queued and is retried with backoff; while the queue
  holds more than `max_queued_rows`, `submit` refuses new events with SpoolUnavailable (503)
  rather than growing without bound. A batch that cannot be stored by `close` stays in the
  spool for the next start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from backbeat.domain.events import Event
from backbeat.errors import ValidationFailed
from backbeat.priority import Background
from backbeat.store.events.protocol import EventStore
from backbeat.store.events.schema import to_arrow, validate_events
from backbeat.store.events.spool import Spool, SpoolUnavailable

log = logging.getLogger(__name__)

_RETRY_MAX_S = 5.0
_CLOSE_ATTEMPTS = 3


@dataclass(frozen=True)
class WriterStats:
    queued: int  # acknowledged events not yet in the store
    submitted: int  # events acknowledged since start
    written: int  # rows inserted by the store (duplicates excluded)
    replayed: int  # rows inserted from a crashed run's spool by start()
    flushes: int
    spool_bytes: int
    last_flush_at: float | None  # time.time() of the last successful flush
    last_flush_rows: int
    last_error: str | None  # the last store failure, cleared by a successful flush


@dataclass
class _Item:
    segment: int
    events: Sequence[Event]


class EventWriter:
    """Spool-backed single writer into an :class:`EventStore`. Thread-safe `submit`.

    The writer owns the spool from :meth:`start` on and closes it in :meth:`close`; the
    store stays open for readers and is closed by its owner."""

    def __init__(
        self,
        spool: Spool[Event],
        store: EventStore,
        flush_rows: int = 5000,
        flush_interval_ms: int = 500,
        *,
        max_queued_rows: int | None = None,
        background: Background = Background(),
    ) -> None:
        if flush_rows <= 0 or flush_interval_ms <= 0:
            raise ValueError("flush_rows and flush_interval_ms must be positive")
        self.spool = spool
        self.store = store
        self.flush_rows = flush_rows
        self.flush_interval = flush_interval_ms / 1000
        self.max_queued_rows = max_queued_rows or max(100 * flush_rows, 100_000)
        # The writer thread's priority (backbeat.priority): events are acknowledged once
        # spooled, so storing them can wait for the serving threads.
        self.background = background
        self._cond = threading.Condition()
        self._queue: deque[_Item] = deque()
        self._queued = 0
        self._oldest = 0.0  # monotonic time the oldest queued item arrived
        self._inflight = 0  # submits between validation and enqueue
        self._state = "new"  # new -> running -> closing -> closed
        self._thread: threading.Thread | None = None
        self._submitted = 0
        self._done = 0  # acknowledged events handled by the store (inserted or duplicate)
        self._written = 0
        self._replayed = 0
        self._flushes = 0
        self._last_flush_at: float | None = None
        self._last_flush_rows = 0
        self._last_error: str | None = None
        self._in_batch = 0  # rows taken by the writer thread and not yet stored
        self._flush_wanted = False

    # lifecycle --------------------------------------------------------------
    def start(self) -> int:
        """Replay the spool left by a previous run into the store, then start the writer
        thread. Returns the number of rows the replay inserted."""
        with self._cond:
            if self._state != "new":
                raise RuntimeError("EventWriter.start() may be called once")
        inserted = self._replay()
        with self._cond:
            self._replayed = inserted
            self._state = "running"
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self._thread.start()
        return inserted

    def _replay(self) -> int:
        inserted = 0
        tables: list[pa.Table] = []
        per_segment: dict[int, int] = {}
        rows = 0
        for record in self.spool.replay():
            try:
                tables.append(to_arrow(record.events))
            except ValidationFailed as exc:  # only if the schema changed under an old spool
                log.error("spool replay: dropping a record of segment %d: %s", record.segment, exc)
                self.spool.mark_applied(record.segment, len(record.events))
                continue
            per_segment[record.segment] = per_segment.get(record.segment, 0) + len(record.events)
            rows += len(record.events)
            if rows >= self.flush_rows:
                inserted += self.store.append_table(pa.concat_tables(tables))
                for seg, n in per_segment.items():
                    self.spool.mark_applied(seg, n)
                tables, per_segment, rows = [], {}, 0
        if tables:
            inserted += self.store.append_table(pa.concat_tables(tables))
            for seg, n in per_segment.items():
                self.spool.mark_applied(seg, n)
        if inserted:
            log.info("spool replay: %d events recovered into the store", inserted)
        return inserted

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting events, wait for submits in progress, store everything queued and
        close the spool. Idempotent."""
        with self._cond:
            if self._state in ("closing", "closed"):
                return
            was_running = self._state == "running"
            self._state = "closing"
            while self._inflight:
                self._cond.wait()
            self._cond.notify_all()
        if was_running and self._thread is not None:
            self._thread.join(timeout)
        self.spool.close()
        with self._cond:
            self._state = "closed"
            self._cond.notify_all()

    # producers --------------------------------------------------------------
    def submit(self, events: Sequence[Event]) -> None:
        """Validate, spool (fsynced) and queue `events`; return once they are durable.

        Raises ValidationFailed for a malformed event (nothing is spooled) and
        SpoolUnavailable when the writer is not running, is overloaded or the disk fails."""
        if not events:
            return
        events = tuple(events)  # the caller may reuse its list; the queue must not change
        validate_events(events)
        with self._cond:
            if self._state != "running":
                raise SpoolUnavailable("the event writer is not running")
            if self._queued + self._in_batch >= self.max_queued_rows:
                raise SpoolUnavailable(
                    f"the event store is behind by {self._queued} events; retry later"
                )
            self._inflight += 1
        try:
            segment = self.spool.append(events)
        except BaseException:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()
            raise
        with self._cond:  # enqueue and leave in one step, so close() cannot miss these events
            if not self._queue:
                self._oldest = time.monotonic()
            self._queue.append(_Item(segment, events))
            self._queued += len(events)
            self._submitted += len(events)
            self._inflight -= 1
            if self._inflight == 0 or self._queued >= self.flush_rows:
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event acknowledged before the call is in the store.
        Returns False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            self._cond.notify_all()
            self._flush_wanted = True
            while self._done < target:
                if self._state == "closed":
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # the writer thread --------------------------------------------------------
    def _next_batch(self) -> list[_Item] | None:
        """Block until a batch is due and take it; None when closing with nothing left."""
        with self._cond:
            while True:
                stopping = self._state != "running"
                if self._queue:
                    due = self._oldest + self.flush_interval - time.monotonic()
                    if (
                        self._queued >= self.flush_rows
                        or stopping
                        or self._flush_wanted
                        or due <= 0
                    ):
                        break
                    self._cond.wait(due)
                elif stopping and self._inflight == 0:  # a submit in progress may still enqueue
                    return None
                else:
                    self._flush_wanted = False  # nothing left to hurry
                    self._cond.wait()
            batch: list[_Item] = []
            rows = 0
            while self._queue and rows < self.flush_rows:
                item = self._queue.popleft()
                batch.append(item)
                rows += len(item.events)
            self._queued -= rows
            self._in_batch = rows
            if not self._queue:
                self._flush_wanted = False
            self._oldest = time.monotonic()
            return batch

    def _run(self) -> None:
        self.background.lower_self()
        batch: list[_Item] | None = None
        failures = 0
        while True:
            if batch is None:
                batch = self._next_batch()
                if batch is None:
                    return
            try:
                inserted = self.store.append_table(self._to_table(batch))
            except Exception as exc:
                failures += 1
                log.exception("event writer: store append failed (attempt %d)", failures)
                with self._cond:
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    if self._state != "running" and failures >= _CLOSE_ATTEMPTS:
                        return  # the spool keeps the events for the next start
                    self._cond.wait(min(_RETRY_MAX_S, 0.05 * 2**failures))
                continue
            rows = sum(len(i.events) for i in batch)
            per_segment: dict[int, int] = {}
            for item in batch:
                per_segment[item.segment] = per_segment.get(item.segment, 0) + len(item.events)
            for seg, n in per_segment.items():
                try:
                    self.spool.mark_applied(seg, n)
                except OSError:  # the segment stays; the next start replays it idempotently
                    log.exception("event writer: cannot checkpoint spool segment %d", seg)
            with self._cond:
                self._in_batch = 0
                self._done += rows
                self._written += inserted
                self._flushes += 1
                self._last_flush_at = time.time()
                self._last_flush_rows = rows
                self._last_error = None
                self._cond.notify_all()
            batch, failures = None, 0

    @staticmethod
    def _to_table(batch: list[_Item]) -> pa.Table:
        try:
            return to_arrow([e for item in batch for e in item.events])
        except ValidationFailed:
            # validate_events let through something Arrow refuses: keep the rest of the batch,
            # drop (and report) the offending submissions rather than block the writer forever.
            tables = []
            for item in batch:
                try:
                    tables.append(to_arrow(item.events))
                except ValidationFailed as exc:
                    log.error(
                        "event writer: dropping %d unstorable events: %s", len(item.events), exc
                    )
            return pa.concat_tables(tables) if tables else to_arrow([])

    # introspection ------------------------------------------------------------
    def stats(self) -> WriterStats:
        spool_bytes = self.spool.size_bytes()
        with self._cond:
            return WriterStats(
                queued=self._queued + self._in_batch,
                submitted=self._submitted,
                written=self._written,
                replayed=self._replayed,
                flushes=self._flushes,
                spool_bytes=spool_bytes,
                last_flush_at=self._last_flush_at,
                last_flush_rows=self._last_flush_rows,
                last_error=self._last_error,
            )
