"""A background thread that prepares each time block's slates before the block starts.

Without it, the first requests of every block build the block's slates themselves (see
:mod:`backbeat.serving.slatecache`), which at 10,000 campaigns stalls the event loop for
about half a second once a minute. The builder wakes `lead_s` seconds before each block
boundary (by the injected clock) and builds the next block's slates; on start it also
prepares the current block.

The thread shares the GIL with the event loop, and while it runs Python the loop waits for
the GIL, up to the interpreter's switch interval each time it has done some I/O (5 ms by
default; a serving process shortens it to 0.5 ms, see ``web.runtime.settle_heap``). A
prebuild at full speed (about 0.35 s of CPU for 10,000 campaigns) therefore starves the
loop almost as the lazy build did. So the builder works in slices of `slice_s` seconds and
sleeps `pause_s` after each (by default 1 ms of work, then 4 ms of sleep: a prebuild takes
about five times its CPU time, well inside the lead).

:meth:`SlateBuilder.step` is one pass of the loop, for deterministic tests; the thread only
decides when to call it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from backbeat.serving.index import CandidateIndex
from backbeat.serving.slatecache import SlateCache

log = logging.getLogger(__name__)


class SlateBuilder:
    """Prepares the slates of `cache` ahead of each block, for the index `index()` returns.

    `max_wait_s` bounds each sleep, so that a clock that jumps (or a new index) is noticed
    within that long; `retry_s` is the sleep after a failed prebuild (logged)."""

    def __init__(
        self,
        cache: SlateCache,
        index: Callable[[], CandidateIndex],
        clock: Callable[[], datetime],
        *,
        lead_s: float = 10.0,
        slice_s: float = 0.001,
        pause_s: float = 0.004,
        max_wait_s: float = 1.0,
        retry_s: float = 1.0,
    ) -> None:
        if not 0 < lead_s < cache.block_s:
            raise ValueError("lead_s must be positive and shorter than a block")
        if slice_s < 0 or pause_s < 0 or max_wait_s <= 0 or retry_s <= 0:
            raise ValueError("slice_s and pause_s must be >= 0; max_wait_s and retry_s > 0")
        self._cache = cache
        self._index = index
        self._clock = clock
        self.lead_s = lead_s
        self.slice_s = slice_s
        self.pause_s = pause_s
        self._slice_start = 0.0
        self.max_wait_s = max_wait_s
        self.retry_s = retry_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: BaseException | None = None

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start the thread (a no-op while it runs)."""
        if self.running:
            return
        self._stop.clear()
        self._cache.retire_later = True
        self._thread = threading.Thread(target=self._run, name="backbeat-slates", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the thread and wait for it; a prebuild in progress finishes its shape first."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the slate builder did not stop within %s s", timeout)
            else:
                self._thread = None
        self._cache.retire_later = False
        self._cache.drop_retired()

    def prepare(self, index: CandidateIndex, *, pause: bool = True) -> int:
        """Make `index`'s slates ready for the current block and, within `lead_s` of the next
        one, for the next block too. Returns how many slates were built."""
        block_s = self._cache.block_s
        now = self._clock().timestamp()
        block = int(now // block_s)
        sleep = self._pause if pause and self.pause_s else None
        self._slice_start = time.perf_counter()
        built = self._cache.prebuild(index, block, pause=sleep)
        if now >= (block + 1) * block_s - self.lead_s:
            built += self._cache.prebuild(index, block + 1, pause=sleep)
        return built

    def on_new_index(self, index: CandidateIndex) -> None:
        """The index holder's preparer: :meth:`prepare` a new index before it serves."""
        if self._stop.is_set():
            return
        with contextlib.suppress(_Stopped):
            self.prepare(index)

    def step(self) -> float:
        """One pass: :meth:`prepare` the current index; returns the seconds to sleep until the
        next pass is due (the next block's start minus `lead_s`), at most `max_wait_s`."""
        self.prepare(self._index())
        self._cache.release(self._pause if self.pause_s else None)
        block_s = self._cache.block_s
        now = self._clock().timestamp()
        due = (int(now // block_s) + 1) * block_s - self.lead_s
        if now >= due:
            due += block_s
        return min(max(due - now, 0.0), self.max_wait_s)

    def _pause(self) -> None:
        """Called often while building or freeing; sleeps once a slice is used up."""
        if time.perf_counter() - self._slice_start < self.slice_s:
            return
        if self._stop.wait(self.pause_s):  # a sleep that stop() cuts short
            raise _Stopped
        self._slice_start = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.step()
                self.last_error = None
            except _Stopped:
                return
            except Exception as exc:  # keep the thread alive: requests can still build lazily
                log.exception("preparing slates failed")
                self.last_error = exc
                delay = self.retry_s
            self._stop.wait(delay)


class _Stopped(Exception):
    """Raised inside a prebuild's pause to abandon it when the builder is stopped."""
