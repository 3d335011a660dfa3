"""The simulator must run from a thread that already has a running event loop (Playwright's
sync API keeps one in test workers; a notebook or async caller has one too)."""

from __future__ import annotations

import asyncio
import threading

from backbeat.sim.runner import _run_async


async def _where() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_runs_without_a_loop_in_this_thread() -> None:
    assert _run_async(_where) == threading.current_thread().name


def test_runs_inside_a_running_loop_on_a_helper_thread() -> None:
    async def outer() -> str:
        return _run_async(_where)

    name = asyncio.run(outer())
    assert name.startswith("sim")
