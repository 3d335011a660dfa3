"""Run a coroutine on a new event loop in a new thread.

Test workers that also ran the browser tests keep Playwright's event loop running in their
main thread for the whole session, so a plain ``asyncio.run`` in a later test would fail
("cannot be called from a running event loop") depending on how tests were distributed.
A thread of its own has no loop, whatever ran before."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_fresh(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fresh") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
