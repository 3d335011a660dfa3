"""Async bridge to the event writer: group commit at the event-loop level.

`EventWriter.submit` blocks until its events are fsynced in the spool. Calling it from a
request handler would stall the event loop, and a thread hop per beacon is expensive. So
handlers await :meth:`AsyncIngest.submit`, which parks the events in a pending group; one
background task hands each whole group to the writer in a single thread call and wakes
every handler of that group once the group is durable. While one group is being written,
the next one fills up, so a burst of beacons costs a handful of fsyncs.

A handler answers its beacon only after `submit` returns: an acknowledged event is on
disk. Events that need no acknowledgement (ad decisions) use :meth:`submit_nowait`.
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
    """Group commit for one sink (events, or hits in a serving worker)."""

    def __init__(self, writer: Sink[T]) -> None:
        self.writer = writer
        self._pending: list[T] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._in_flight = 0

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="backbeat-ingest")

    async def submit(self, events: Sequence[T]) -> None:
        """Return once `events` are durable; raise what the writer raised otherwise."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.extend(events)
        self._waiters.append(fut)
        self._kick()
        await fut

    def submit_nowait(self, events: Sequence[T]) -> None:
        """Queue events whose durability nobody waits for (they still go through the spool)."""
        self._pending.extend(events)
        self._kick()

    def _kick(self) -> None:
        if self._wake is None:
            raise RuntimeError("AsyncIngest.start() was not called")
        self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                group, self._pending = self._pending, []
                waiters, self._waiters = self._waiters, []
                self._in_flight = len(group)
                error: BaseException | None = None
                try:
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
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            await self._task
