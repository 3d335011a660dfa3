"""Async bridge to the event writer: group commit at the event-loop level.

`EventWriter.submit` blocks until its events are fsynced in the spool. Calling it from a
request handler would stall the event loop, and a thread hop per beacon is expensive. So
handlers await :meth:`AsyncIngest.submit`, which parks the events in a pending group; one
background task hands each whole group to the writer in a single thread call and wakes
every handler of that group once the group is durable. While one group is being written,
the next one fills up, so a burst of beacons costs a handful of fsyncs.

A handler answers its beacon only after `submit` returns: an acknowledged event is on
disk. Events that need no acknowledgement (ad decisions) use :meth:`submit_nowait`.

**Inline writes** (`inline_max`). A group of at most `inline_max` events is written on the
event loop's own thread instead. The hop to an executor thread and back costs two
wake-ups and two GIL hand-offs, which on a small VM cost more CPU than writing a few
hundred bytes: at moderate load, where a group holds one or two beacons, writing them
inline saved about a tenth of the server's CPU per beacon (docs/benchmarks.md, session 6).
The loop then waits out the fdatasync, while the server's own threads keep reading
requests, which form the next group. A large group (at peak) still goes to a
thread, so the loop goes on answering while it syncs.

**Lingering** (`linger_s`, ``BACKBEAT_GROUP_COMMIT_MS``). An fdatasync costs far more than
the write it makes durable (here about 50 µs of CPU and 150 µs of wall time for a few
hundred bytes), so what a beacon costs depends on how many share one. Under heavy load
the events that arrive while one group is being written make the next group large on
their own; at moderate load they do not (two workers at 3,000 beacons a second each see
one beacon per fsync), and a beacon then costs several times what it costs at peak. So a
small group waits until its oldest event has waited `linger_s`, or until `group_target`
events are pending, like PostgreSQL's ``commit_delay``. It adds at most `linger_s` to a
beacon's answer, never to anything the page waits for. It is off by default: on the
benchmark machine 2 ms saved little at half load and cost throughput at peak, where a
closed loop of browsers waits out the linger (docs/benchmarks.md, session 5); it is for
disks whose flush is slow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Sink(Protocol[T_contra]):
    """Anything with a blocking, durable ``submit``: the EventWriter, or a hit spool."""

    def submit(self, items: Sequence[T_contra]) -> None: ...


class AsyncIngest(Generic[T]):
    """Group commit for one sink (events, or hits in a serving worker). Groups of at most
    `inline_max` events are written on the loop's thread (0: never)."""

    def __init__(
        self,
        writer: Sink[T],
        *,
        linger_s: float = 0.0,
        group_target: int = 32,
        inline_max: int = 0,
    ) -> None:
        if linger_s < 0 or group_target < 1 or inline_max < 0:
            raise ValueError("linger_s and inline_max must be >= 0, group_target >= 1")
        self.writer = writer
        self.linger_s = linger_s
        self.group_target = group_target
        self.inline_max = inline_max
        self._pending: list[T] = []
        self._oldest = 0.0  # loop time when the pending group got its first event
        self._waiters: list[asyncio.Future[None]] = []
        self._wake: asyncio.Event | None = None
        self._full: asyncio.Future[None] | None = None  # set when lingering may stop
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._in_flight = 0
        self.groups = 0  # groups handed to the writer so far

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="backbeat-ingest")

    async def submit(self, events: Sequence[T]) -> None:
        """Return once `events` are durable; raise what the writer raised otherwise."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(events)
        self._waiters.append(fut)  # before the writer task can run again: no await between
        await fut

    def submit_nowait(self, events: Sequence[T]) -> None:
        """Queue events whose durability nobody waits for (they still go through the spool)."""
        self._enqueue(events)

    def _enqueue(self, events: Sequence[T]) -> None:
        if self._wake is None:
            raise RuntimeError("AsyncIngest.start() was not called")
        if not self._pending:
            self._oldest = asyncio.get_running_loop().time()
        self._pending.extend(events)
        self._wake.set()
        full = self._full
        if full is not None and len(self._pending) >= self.group_target and not full.done():
            full.set_result(None)

    async def _linger(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let a small group wait for company (see the module's docstring)."""
        delay = self._oldest + self.linger_s - loop.time()
        if delay <= 0 or len(self._pending) >= self.group_target or self._closing:
            return
        full: asyncio.Future[None] = loop.create_future()
        self._full = full
        timer = loop.call_later(delay, _resolve, full)
        try:
            await full
        finally:
            timer.cancel()
            self._full = None

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if self.linger_s:
                    await self._linger(loop)
                group, self._pending = self._pending, []
                waiters, self._waiters = self._waiters, []
                self._in_flight = len(group)
                self.groups += 1
                error: BaseException | None = None
                try:
                    if len(group) <= self.inline_max:
                        self.writer.submit(group)
                    else:
                        await loop.run_in_executor(None, self.writer.submit, group)
                except Exception as exc:  # every waiter of the group learns of it
                    log.exception("event ingest failed for %d events", len(group))
                    error = exc
                self._in_flight = 0
                for fut in waiters:
                    if not fut.done():
                        if error is None:
                            fut.set_result(None)
                        else:
                            fut.set_exception(error)
            if self._closing:
                return

    @property
    def idle(self) -> bool:
        """Nothing pending or being handed to the writer (every event is in its hands)."""
        return not self._pending and not self._in_flight

    async def close(self) -> None:
        """Write what is pending, then stop."""
        self._closing = True
        if self._full is not None and not self._full.done():
            self._full.set_result(None)
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            await self._task


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
