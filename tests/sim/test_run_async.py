"""The simulator must run from a thread that already has a running event loop (Playwright's
sync API keeps one in test workers; a notebook or async caller has one too)."""

from __future__ import annotations

import asyncio
import threading

from backbeat.sim.runner import _run_async
from tests.sim.fresh_loop import run_fresh


async def _where() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def _in_a_thread_without_a_loop() -> tuple[str, str]:
    # This test worker's main thread may hold Playwright's running loop (the browser tests),
    # so the no-loop case is made explicit: a new thread has none.
    out: list[tuple[str, str]] = []
    thread = threading.Thread(
        target=lambda: out.append((_run_async(_where), threading.current_thread().name)),
        name="no-loop",
    )
    thread.start()
    thread.join(30)
    return out[0]


def test_runs_without_a_loop_in_this_thread() -> None:
    ran_on, caller = _in_a_thread_without_a_loop()
    assert ran_on == caller == "no-loop"


def test_runs_inside_a_running_loop_on_a_helper_thread() -> None:
    async def outer() -> str:
        return _run_async(_where)

    name = run_fresh(outer)
    assert name.startswith("sim")
