"""Running background work below the serving threads (Unix niceness, Linux semantics).

A beacon is answered once its worker has spooled it; counting, storing and DuckDB's own
work can wait. On a small machine where they share the cores with serving, they should
run in the serving threads' gaps, not preempt them mid-request. Linux schedules threads
one by one and a thread inherits its creator's niceness, so each background thread lowers
its own priority (:func:`lower_priority`), and threads a library starts (DuckDB's worker
pool) are lowered by id once it has started them (:func:`lower_threads`).

Lowering a priority needs no privilege. Where it fails anyway (another platform, a
sandbox), the work runs at the normal priority and a warning says so.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable

log = logging.getLogger(__name__)

_TASKS = "/proc/self/task"


def lower_priority(nice: int) -> None:
    """Add `nice` to the calling thread's niceness (at most 19)."""
    lower_threads([threading.get_native_id()], nice)


def thread_ids() -> set[int]:
    """This process's threads (kernel ids); empty where /proc is not available."""
    try:
        return {int(name) for name in os.listdir(_TASKS)}
    except OSError:
        return set()


def lower_threads(tids: Iterable[int], nice: int) -> None:
    """Add `nice` to each thread's niceness (at most 19). A thread that has ended is skipped."""
    if nice <= 0:
        return
    for tid in tids:
        try:
            lowered = min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice)
            os.setpriority(os.PRIO_PROCESS, tid, lowered)
        except ProcessLookupError:
            continue
        except (OSError, AttributeError) as exc:
            log.warning("cannot lower the priority of background thread %d: %s", tid, exc)
            return
