"""The ingest loop: count every serving worker's hits in one place, and store their events.

Serving workers (see :mod:`backbeat.store.events.handoff`) spool two streams: decision
events, which are stored as they are, and hits (:mod:`backbeat.tracking.hits`), which the
loop counts with the authoritative counters before storing.

Each round (every `poll_s` while there is work) takes the newly sealed segments of both
streams, counts the round's hits in time order (so a click from one worker follows the
impression another worker took a moment earlier) and publishes the round's effects to the
workers at once, so their budget and frequency replicas lag by one round. Storing is
batched apart from counting, like the single process's writer: the counted events and the
decision rows wait in memory until `flush_rows` of them are waiting or the oldest has
waited `flush_interval_s`, then go to the store as one Arrow table, and only then are their
segments removed. (An append has a fixed cost of milliseconds; one per small round would
cost more than the events themselves.)

**Storing has a thread of its own** once the loop runs (:meth:`HitConsumer.start`). An
append is milliseconds of DuckDB work, most of it without the GIL, plus a commit and now and
then a checkpoint (hundreds of milliseconds on a table of millions of rows). Stored on the
counting thread, it held counting up; the next round then took every segment sealed
meanwhile, and its effects reached the workers as one burst of tens of messages, which they
apply holding their GIL: the beacons' worst stalls at half load (docs/benchmarks.md,
session 8). The counting thread hands a due batch to the store thread and goes on; while
that one is being stored it keeps filling the next (up to `STORE_BACKLOG` times
`flush_rows` rows, beyond which counting waits), so appends grow with the load. Batches
are stored in order, each retried until it is stored. Called directly (tests, the drain
at stop), `run_once` stores on the caller's thread.

Nothing is lost or counted twice across a crash: a segment is removed only after `submit`
returned, and a hit's event is stored under the hit's id, so a segment read again after a
crash stores nothing new. If the store refuses a batch (disk error) the batch is kept and
retried as it is; its hits are never counted again, which would turn them into duplicates.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from backbeat.domain.events import Event, EventType
from backbeat.priority import Background
from backbeat.store.events.handoff import Rows, rows_to_arrow
from backbeat.store.events.schema import to_arrow
from backbeat.store.events.spool_reader import SegmentRef, SpoolReader
from backbeat.tracking.effects import Effects, RecordingCounters, creative_counts
from backbeat.tracking.errors import TokenRejected
from backbeat.tracking.hits import Counting, Hit, count_hit
from backbeat.tracking.pipeline import impression_claim
from backbeat.tracking.rejections import Rejections
from backbeat.tracking.signing import unpack_verified

log = logging.getLogger(__name__)

MAX_SEGMENTS_PER_ROUND = 64
# Effects entries per published message: a worker replays one message holding its GIL
# (about a millisecond for 500 here), so its event loop never waits long behind a replay.
EFFECTS_PER_MESSAGE = 500
# While the store thread stores one batch, the counting thread fills the next, up to this
# many times `flush_rows` (then counting waits).
STORE_BACKLOG = 10
_CLICK = EventType.CLICK


@dataclass
class ConsumerStats:
    rounds: int = 0
    hits: int = 0  # hits counted
    stored: int = 0  # rows handed to the store (counted hits + decision events)
    flushes: int = 0
    refused: int = 0  # hits whose token did not unpack (a damaged spool record)
    failures: int = 0  # store appends that failed (retried)


@dataclass
class _Batch:
    """Counted but not yet stored; its segments stay on disk until it is."""

    rows: Rows = field(default_factory=list)  # decision events, as spooled
    events: list[Event] = field(default_factory=list)  # counted hits
    row_refs: list[SegmentRef] = field(default_factory=list)
    hit_refs: list[SegmentRef] = field(default_factory=list)
    size: int = 0
    since: float = 0.0  # time.monotonic() of the oldest item
    through: int = 0  # the last counting round in it (see HitConsumer.wait_stored)


class HitConsumer:
    """One ingest loop. `counting.counters` must be `recorder` (the loop drains the writes
    it records); `submit` stores an Arrow table with the event schema (the store's
    ``append_table``, idempotent by event id)."""

    def __init__(
        self,
        hits: SpoolReader[Hit],
        decisions: SpoolReader[list[Any]],
        counting: Counting,
        recorder: RecordingCounters,
        submit: Callable[[pa.Table], object],
        publish: Callable[[Effects], None],
        *,
        rejections: Rejections | None = None,
        poll_s: float = 0.02,
        flush_rows: int = 5000,
        flush_interval_s: float = 0.5,
        background: Background = Background(),
        defer_clicks_s: float = 0.0,
    ) -> None:
        if counting.counters is not recorder:
            raise ValueError("counting.counters must be the recorder")
        self.hits = hits
        self.decisions = decisions
        self.counting = counting
        self.recorder = recorder
        self.submit = submit
        self.publish = publish
        self.rejections = rejections
        self.poll_s = poll_s
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.background = background  # the counting and store threads' priority
        self.defer_clicks_s = defer_clicks_s
        self.stats = ConsumerStats()
        self._batch = _Batch()
        self._taken: set[SegmentRef] = set()
        # Held while segments are listed and taken, and while stored ones are removed: a
        # segment the store thread removes must not look ready (and untaken) meanwhile.
        self._refs_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._storer: threading.Thread | None = None
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._room = threading.Semaphore(1)  # one batch at a time with the store thread
        self._abandon = threading.Event()  # stop(drain=False): leave unstored batches
        self._rounds = 0  # counting rounds so far; each is numbered before its effects go out
        self._stored_through = 0  # every round up to this one is in the store
        self._stored = threading.Condition()
        self._polls = 0  # looks for ready segments so far, with or without a round
        self._polled = threading.Condition()
        # Clicks held back (see _early_click), oldest first, with their segments: those
        # segments join a batch (and so are removed) only once all their hits are counted.
        self._deferred: list[tuple[Hit, SegmentRef]] = []
        self._held_refs: list[SegmentRef] = []
        self._oldest_deferred = math.inf  # the oldest held click's time, for wait_settled
        self._draining = False

    # one round -------------------------------------------------------------------------
    def run_once(self, *, flush: bool = False) -> int:
        """Count what is newly ready and publish its effects; store the waiting batch when
        it is due (or `flush`). Returns the segments taken. Raises what the store raised
        (the batch is kept and retried)."""
        taken = self._count_ready()
        b = self._batch
        due = b.size >= self.flush_rows or (
            b.size and time.monotonic() - b.since >= self.flush_interval_s
        )
        if (b.row_refs or b.hit_refs) and (flush or due):
            self._store()
        return taken

    def _count_ready(self) -> int:
        try:
            return self._count_round()
        finally:
            with self._polled:
                self._polls += 1
                self._oldest_deferred = self._deferred[0][0].at if self._deferred else math.inf
                self._polled.notify_all()

    def _early_click(self, hit: Hit, now: float) -> bool:
        """A click to count in a later round: younger than `defer_clicks_s` and its
        decision's impression not counted yet. Each worker's hits are counted once its
        segment is sealed, so the impression another worker took a moment before the click
        may be in a segment sealed a round later; counted now, the click would be stored
        as "no impression"."""
        if hit.kind is not _CLICK or self._draining or hit.at <= now - self.defer_clicks_s:
            return False
        try:
            decision = unpack_verified(hit.token).decision_id
        except TokenRejected:
            return False  # count_hit refuses it, and says so
        return not self.recorder.claimed(impression_claim(decision))

    def _count_round(self) -> int:
        with self._refs_lock:
            row_refs = [r for r in self.decisions.ready() if r not in self._taken]
            hit_refs = [r for r in self.hits.ready() if r not in self._taken]
            row_refs = row_refs[:MAX_SEGMENTS_PER_ROUND]
            hit_refs = hit_refs[:MAX_SEGMENTS_PER_ROUND]
            self._taken.update(row_refs)
            self._taken.update(hit_refs)
        now = time.time()
        deferred_due = bool(self._deferred) and (
            self._draining or self._deferred[0][0].at <= now - self.defer_clicks_s
        )
        if not row_refs and not hit_refs and not deferred_due:
            return 0
        b = self._batch
        if not b.row_refs and not b.hit_refs:
            b.since = time.monotonic()
        for ref in row_refs:
            for rows in self.decisions.read(ref):
                b.rows += rows
                b.size += len(rows)
        pending, self._deferred = self._deferred, []
        for ref in hit_refs:
            for batch in self.hits.read(ref):
                pending.extend((h, ref) for h in batch)
        pending.sort(key=lambda item: item[0].at)  # stable: one worker's hits keep their order
        counted: list[Event] = []
        n_hits = 0
        for hit, ref in pending:
            if hit.kind is _CLICK and self.defer_clicks_s and self._early_click(hit, now):
                self._deferred.append((hit, ref))
                continue
            n_hits += 1
            try:
                result = count_hit(hit, self.counting)
            except TokenRejected as exc:  # verified by the worker: only a damaged record does this
                self.stats.refused += 1
                if self.rejections is not None:
                    self.rejections.add(exc.reason)
                log.warning("ingest: dropping hit %s: %s", hit.id, exc)
                continue
            if result.event is not None:
                counted.append(result.event)
        b.events += counted
        b.size += len(counted)
        b.row_refs += row_refs
        held = {ref for _, ref in self._deferred}
        carried = self._held_refs + hit_refs
        b.hit_refs += [r for r in carried if r not in held]
        self._held_refs = [r for r in carried if r in held]
        # Numbered before its effects are published: a subscriber that registers after
        # they went out reads a number that covers them (wait_stored).
        self._rounds += 1
        b.through = self._rounds
        self.stats.rounds += 1
        self.stats.hits += n_hits
        effects = self.recorder.drain()
        effects.creatives = creative_counts(counted)
        if effects:
            for part in effects.split(EFFECTS_PER_MESSAGE):
                self.publish(part)
        return len(row_refs) + len(hit_refs)

    def _store(self) -> None:
        """Store the waiting batch: on this thread, or (while the loop runs) by handing it
        to the store thread, waiting for room first."""
        if self._storer is None:
            self._store_batch(self._batch)  # raises with the batch kept, for a retry
            self._batch = _Batch()
            return
        if not self._room.acquire(blocking=False):
            # The store thread is busy: go on counting into this batch, and hand it over
            # as one larger append once the thread is free (an append has a fixed cost,
            # so at peak fewer, larger ones cost less), up to STORE_BACKLOG batches' rows.
            if self._batch.size < self.flush_rows * STORE_BACKLOG:
                return
            while not self._room.acquire(timeout=self.poll_s):
                if self._stop.is_set():
                    return  # kept: the drain at stop stores it
        self._queue.put(self._batch)
        self._batch = _Batch()

    def _store_batch(self, b: _Batch) -> None:
        tables = [rows_to_arrow(b.rows)] if b.rows else []
        if b.events:
            tables.append(to_arrow(b.events))
        table = pa.concat_tables(tables) if tables else None
        if table is not None and table.num_rows:
            try:
                self.submit(table)
            except Exception:
                self.stats.failures += 1
                raise
        with self._refs_lock:
            for ref in b.row_refs:
                self.decisions.remove(ref)
            for ref in b.hit_refs:
                self.hits.remove(ref)
            self._taken.difference_update(b.row_refs)
            self._taken.difference_update(b.hit_refs)
        self.stats.stored += b.size
        self.stats.flushes += 1
        with self._stored:
            self._stored_through = max(self._stored_through, b.through)
            self._stored.notify_all()

    def wait_stored(self, timeout: float) -> bool:
        """Wait until everything counted so far is in the store; False if `timeout` seconds
        passed first. Every effect published before the call is then readable from the
        store: a worker whose subscription (re)connects calls this (through the event
        service) before it warms its replicas from the store, so an effect published
        before it subscribed, but stored only after it read, is not lost. Any thread."""
        target = self._rounds
        with self._stored:
            return self._stored.wait_for(lambda: self._stored_through >= target, timeout)

    def wait_settled(self, timeout: float) -> bool:
        """Wait until every segment ready when this is called is counted and stored; False
        if `timeout` seconds passed first. For a caller about to read a hit it knows was
        sealed (a click a conversion names): :meth:`wait_stored` alone would not wait for
        a round that has not begun. Needs the loop running (:meth:`start`)."""
        deadline = time.monotonic() + timeout
        called = time.time()
        with self._polled:
            # A look that began after this call: the one under way may have listed the
            # segments before the one the caller cares about was sealed. And no click from
            # before the call still held back.
            target = self._polls + 2
            if not self._polled.wait_for(
                lambda: self._polls >= target and self._oldest_deferred > called, timeout
            ):
                return False
        return self.wait_stored(max(0.0, deadline - time.monotonic()))

    # the loop ----------------------------------------------------------------------------
    # Why `nice`: counting is the one job on the box that may wait. A beacon is answered
    # once its worker spooled it, so while the cores are busy the serving workers should
    # run first and the loop catch up in their gaps (its lag is what reports and the
    # workers' budget replicas see; billing is exact whenever it happens). At the same
    # priority its rounds preempt workers mid-request, which is much of the beacons' tail
    # at half load (docs/benchmarks.md, session 5).
    def start(self) -> None:
        self._storer = threading.Thread(target=self._store_loop, name="hit-store", daemon=True)
        self._storer.start()
        self._thread = threading.Thread(target=self._run, name="hit-consumer", daemon=True)
        self._thread.start()

    def _store_loop(self) -> None:
        self.background.lower_self()
        while (batch := self._queue.get()) is not None:
            backoff = self.poll_s
            while True:
                try:
                    self._store_batch(batch)
                    break
                except Exception:
                    log.exception("ingest: storing a batch failed; retrying")
                    if self._abandon.wait(backoff):
                        return
                    backoff = min(backoff * 2, 5.0)
            self._room.release()

    def _run(self) -> None:
        self.background.lower_self()
        backoff = self.poll_s
        while not self._stop.is_set():
            try:
                taken = self.run_once()
            except Exception:
                log.exception("ingest: storing a batch failed; retrying")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = self.poll_s
            if not taken:
                self._stop.wait(self.poll_s)

    def stop(self, *, drain: bool = True, timeout: float = 60.0) -> None:
        """Stop the loop; with `drain`, first count and store everything ready (for a clean
        stop, after the workers have stopped and sealed their spools)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._storer is not None:
            if not drain:
                self._abandon.set()
            self._queue.put(None)  # after the batches handed over: those are stored first
            self._storer.join(timeout)
            self._storer = None
        if drain:
            self._draining = True  # held clicks are counted now: no impression is coming
            while self.run_once(flush=True):
                pass
            self.run_once(flush=True)

