"""AsyncIngest: group commit on the event loop, lingering for company, inline writes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from backbeat.web.ingest import AsyncIngest


class Recorder:
    """A blocking sink that records each group it was handed; `gate` holds it up."""

    def __init__(self, fail: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail = fail

    def submit(self, items: Sequence[int]) -> None:
        self.gate.wait(10)
        self.groups.append(list(items))
        if self.fail:
            raise OSError("disk full")


def run(coro: Coroutine[Any, Any, None]) -> None:
    # A thread of its own: a browser test's sync Playwright may hold this thread's loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def test_events_that_arrive_during_a_write_share_the_next_one() -> None:
    async def main() -> None:
        sink = Recorder()
        ingest: AsyncIngest[int] = AsyncIngest(sink)
        ingest.start()
        sink.gate.clear()
        first = asyncio.ensure_future(ingest.submit([0]))
        while not ingest._in_flight:  # the first group is in the writer's hands
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(ingest.submit([i])) for i in range(1, 6)]
        await asyncio.sleep(0.01)
        assert not any(f.done() for f in [first, *rest])  # nobody answered before the write
        sink.gate.set()
        await asyncio.gather(first, *rest)
        await ingest.close()
        assert sink.groups == [[0], [1, 2, 3, 4, 5]]
        assert ingest.groups == 2

    run(main())


def test_a_lone_event_lingers_for_company_then_goes_alone() -> None:
    async def main() -> None:
        sink = Recorder()
        ingest: AsyncIngest[int] = AsyncIngest(sink, linger_s=0.05)
        ingest.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await ingest.submit([1])
        waited = loop.time() - t0
        await ingest.close()
        assert sink.groups == [[1]]
        assert waited >= 0.04  # it waited (the timer's resolution allows a little less)

    run(main())


def test_lingering_events_share_one_write() -> None:
    async def main() -> None:
        sink = Recorder()
        ingest: AsyncIngest[int] = AsyncIngest(sink, linger_s=0.2)
        ingest.start()
        futures = []
        for i in range(4):
            futures.append(asyncio.ensure_future(ingest.submit([i])))
            await asyncio.sleep(0.005)
        await asyncio.gather(*futures)
        await ingest.close()
        assert sink.groups == [[0, 1, 2, 3]]

    run(main())


def test_a_full_group_stops_lingering_at_once() -> None:
    async def main() -> None:
        sink = Recorder()
        ingest: AsyncIngest[int] = AsyncIngest(sink, linger_s=30.0, group_target=3)
        ingest.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.gather(*(ingest.submit([i]) for i in range(3)))
        took = loop.time() - t0
        await ingest.close()
        assert sink.groups == [[0, 1, 2]]
        assert took < 25  # not the 30 s linger

    run(main())


def test_close_writes_a_lingering_group_without_waiting_it_out() -> None:
    async def main() -> None:
        sink = Recorder()
        ingest: AsyncIngest[int] = AsyncIngest(sink, linger_s=30.0)
        ingest.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        waiting = asyncio.ensure_future(ingest.submit([7]))
        ingest.submit_nowait([8])
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await ingest.close()
        await waiting
        assert [sorted(g) for g in sink.groups] == [[7, 8]]
        assert loop.time() - t0 < 25
        assert ingest.idle

    run(main())


def test_every_waiter_of_a_failed_group_gets_the_error() -> None:
    async def main() -> None:
        sink = Recorder(fail=True)
        ingest: AsyncIngest[int] = AsyncIngest(sink, linger_s=0.2)
        ingest.start()
        results = await asyncio.gather(
            ingest.submit([1]), ingest.submit([2]), return_exceptions=True
        )
        await ingest.close()
        assert [type(r) for r in results] == [OSError, OSError]
        assert sink.groups == [[1, 2]]

    run(main())


def test_submit_before_start_and_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        AsyncIngest(Recorder(), linger_s=-1)
    with pytest.raises(ValueError):
        AsyncIngest(Recorder(), group_target=0)
    with pytest.raises(ValueError):
        AsyncIngest(Recorder(), inline_max=-1)

    async def main() -> None:
        ingest: AsyncIngest[int] = AsyncIngest(Recorder())
        with pytest.raises(RuntimeError, match="start"):
            ingest.submit_nowait([1])

    run(main())


class ThreadRecorder:
    """A sink that records which thread wrote each group."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, list[int]]] = []

    def submit(self, items: Sequence[int]) -> None:
        self.writes.append((threading.get_ident(), list(items)))


def test_small_groups_are_written_on_the_loop_and_large_ones_in_a_thread() -> None:
    async def main() -> None:
        sink = ThreadRecorder()
        ingest: AsyncIngest[int] = AsyncIngest(sink, inline_max=2)
        ingest.start()
        loop_thread = threading.get_ident()
        await ingest.submit([1, 2])  # small: inline
        await asyncio.gather(ingest.submit([3, 4]), ingest.submit([5]))  # one group of 3
        await ingest.close()
        assert [items for _, items in sink.writes] == [[1, 2], [3, 4, 5]]
        assert sink.writes[0][0] == loop_thread
        assert sink.writes[1][0] != loop_thread

    run(main())


def test_an_inline_write_that_fails_reaches_its_waiters() -> None:
    async def main() -> None:
        sink = Recorder(fail=True)
        ingest: AsyncIngest[int] = AsyncIngest(sink, inline_max=10)
        ingest.start()
        with pytest.raises(OSError, match="disk full"):
            await ingest.submit([1])
        await ingest.close()
        assert sink.groups == [[1]]

    run(main())
