"""The ingest loop: count every serving worker's hits in one place, and store their events.

Serving workers (see :mod:`backbeat.store.events.handoff`) spool two streams: decision
events, which are stored as they are, and hits (:mod:`backbeat.tracking.hits`), which the
loop counts with the authoritative counters before storing. Each round takes every sealed
segment of both streams, counts the round's hits in time order (so a click from one worker
follows the impression another worker took a moment earlier), hands the events to the
store's writer, removes the segments, and publishes the round's effects to the workers.

Nothing is lost or counted twice across a crash: a segment is removed only after `submit`
returned (its events are in the store, or durable on the way there), and a hit's event is
stored under the hit's id,
so a segment read again after a crash stores nothing new. If the writer refuses a round
(overloaded, disk error) the counted events are kept and retried as they are; they are
never counted again, which would turn them into duplicates.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backbeat.domain.events import Event
from backbeat.store.events.spool_reader import SegmentRef, SpoolReader
from backbeat.tracking.effects import Effect, RecordingCounters, creative_counts
from backbeat.tracking.errors import TokenRejected
from backbeat.tracking.hits import Counting, Hit, count_hit
from backbeat.tracking.rejections import Rejections

log = logging.getLogger(__name__)

MAX_SEGMENTS_PER_ROUND = 64


@dataclass
class _Round:
    events: list[Event]
    event_refs: list[SegmentRef]
    hit_refs: list[SegmentRef]
    effects: list[Effect]
    hits: int


@dataclass
class ConsumerStats:
    rounds: int = 0
    hits: int = 0  # hits counted
    events: int = 0  # events handed to the writer (counted hits + decision events)
    refused: int = 0  # hits whose link no longer verified (a changed secret)
    failures: int = 0  # rounds the writer refused (retried)


class HitConsumer:
    """One ingest loop. `counting.counters` must be `recorder` (the loop drains the writes
    it records); `submit` makes events durable: the store's ``append_batch`` (idempotent by
    id), or an EventWriter's ``submit``."""

    def __init__(
        self,
        hits: SpoolReader[Hit],
        events: SpoolReader[Event],
        counting: Counting,
        recorder: RecordingCounters,
        submit: Callable[[Sequence[Event]], object],
        publish: Callable[[list[Effect]], None],
        *,
        rejections: Rejections | None = None,
        poll_s: float = 0.02,
    ) -> None:
        if counting.counters is not recorder:
            raise ValueError("counting.counters must be the recorder")
        self.hits = hits
        self.events = events
        self.counting = counting
        self.recorder = recorder
        self.submit = submit
        self.publish = publish
        self.rejections = rejections
        self.poll_s = poll_s
        self.stats = ConsumerStats()
        self._pending: _Round | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # one round -------------------------------------------------------------------------
    def run_once(self) -> int:
        """Take, count, store and publish what is ready. Returns the number of segments
        consumed (0: nothing was ready). Raises what the writer raised (the round is kept
        and retried by the next call)."""
        if self._pending is None:
            self._pending = self._take()
        todo = self._pending
        if todo is None:
            return 0
        try:
            self.submit(todo.events)
        except Exception:
            self.stats.failures += 1
            raise
        self._pending = None
        for ref in todo.event_refs:
            self.events.remove(ref)
        for ref in todo.hit_refs:
            self.hits.remove(ref)
        if todo.effects:
            self.publish(todo.effects)
        self.stats.rounds += 1
        self.stats.hits += todo.hits
        self.stats.events += len(todo.events)
        return len(todo.event_refs) + len(todo.hit_refs)

    def _take(self) -> _Round | None:
        event_refs = self.events.ready()[:MAX_SEGMENTS_PER_ROUND]
        hit_refs = self.hits.ready()[:MAX_SEGMENTS_PER_ROUND]
        if not event_refs and not hit_refs:
            return None
        stored: list[Event] = []
        for ref in event_refs:
            for record in self.events.read(ref):
                stored.extend(record)
        hits: list[Hit] = []
        for ref in hit_refs:
            for batch in self.hits.read(ref):
                hits.extend(batch)
        hits.sort(key=lambda h: h.at)  # stable: one worker's hits keep their order
        counted: list[Event] = []
        for hit in hits:
            try:
                result = count_hit(hit, self.counting)
            except TokenRejected as exc:  # verified by the worker; only a new secret does this
                self.stats.refused += 1
                if self.rejections is not None:
                    self.rejections.add(exc.reason)
                log.warning("ingest: dropping hit %s: %s", hit.id, exc)
                continue
            if result.event is not None:
                counted.append(result.event)
        effects: list[Effect] = [*self.recorder.drain(), *creative_counts(counted)]
        return _Round(stored + counted, event_refs, hit_refs, effects, len(hits))

    # the loop ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hit-consumer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = self.poll_s
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except Exception:
                log.exception("ingest: a round failed; retrying")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = self.poll_s
            if not done:
                self._stop.wait(self.poll_s)

    def stop(self, *, drain: bool = True, timeout: float = 60.0) -> None:
        """Stop the loop; with `drain`, first consume everything ready (for a clean stop,
        after the workers have stopped and sealed their spools)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if drain:
            while self.run_once():
                pass
