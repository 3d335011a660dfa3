"""Running background work below the serving threads (Unix niceness, Linux semantics).

A beacon is answered once its worker has spooled it; counting, storing and DuckDB's own
work can wait. On a small machine where they share the cores with serving, they should
run in the serving threads' gaps, not preempt them mid-request. Linux schedules threads
one by one and a thread inherits its creator's niceness, so each background thread lowers
its own priority (:func:`lower_priority`), and threads a library starts (DuckDB's worker
pool) are lowered by id once it has started them (:func:`lower_threads`).

**I/O class.** Background threads can also be put in the idle I/O class
(:func:`set_io_idle`): their reads and writes reach the disk only when nothing else is
waiting for it. Here that is DuckDB's WAL, its checkpoints (tens of megabytes, then an
fsync) and the spool segments' removal. A beacon is answered after an fdatasync of its
worker's spool, and a disk flush waits for every write dispatched before it: queued behind
a checkpoint, those fdatasyncs took up to a quarter of a second and held the worker's
event loop (docs/benchmarks.md, session 11). Linux honours I/O classes with the
mq-deadline and BFQ schedulers (``/sys/block/<disk>/queue/scheduler``); with ``none``
the call succeeds and changes nothing. Idle-class requests that waited too long are still
served (mq-deadline's ``prio_aging_expire``, 10 s), so the ingest cannot starve.

Lowering a priority needs no privilege. Where it fails anyway (another platform, a
sandbox), the work runs at the normal priority and a warning says so.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import platform
import threading
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

_TASKS = "/proc/self/task"


# ioprio_set and ioprio_get by machine (Linux syscall numbers; glibc has no wrapper).
_IOPRIO_SYSCALLS = {
    "x86_64": (251, 252), "amd64": (251, 252), "i386": (289, 290), "i686": (289, 290),
    "aarch64": (30, 31), "arm64": (30, 31), "riscv64": (30, 31), "armv7l": (314, 315),
    "ppc64le": (273, 274), "s390x": (282, 283),
}
_IOPRIO_WHO_PROCESS = 1  # with a thread id: that thread
_IOPRIO_CLASS_SHIFT = 13
IOPRIO_CLASS_IDLE = 3


def niceness() -> int:
    """The calling thread's niceness (0 where it cannot be read)."""
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except (OSError, AttributeError):
        return 0


def lower_to(target: int, *, io_idle: bool = False) -> None:
    """Lower the calling thread to niceness `target` (at most 19), whatever it inherited; a
    thread already that low is left as it is. With `io_idle`, also the idle I/O class."""
    lower_priority(max(0, min(19, target) - niceness()), io_idle=io_idle)


def lower_priority(nice: int, *, io_idle: bool = False) -> None:
    """Add `nice` to the calling thread's niceness (at most 19); with `io_idle`, also put
    it in the idle I/O class. The thread also takes its Python name in the kernel
    (:func:`name_native_thread`), so tools that sample threads from outside tell the
    background threads apart."""
    name_native_thread(threading.current_thread().name)
    lower_threads([threading.get_native_id()], nice, io_idle=io_idle)


_PR_SET_NAME = 15
_COMM_BYTES = 15  # the kernel keeps 16 bytes with the terminating NUL


def name_native_thread(name: str) -> None:
    """Give the calling thread `name` (its first 15 bytes) as the kernel's thread name,
    shown by ``top -H``, ``ps -L``, perf and py-spy; Python 3.11 leaves every thread named
    after the process. Does nothing outside Linux or where it fails."""
    if platform.system() != "Linux" or not name:
        return
    try:
        _libc().prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:_COMM_BYTES]), 0, 0, 0)
    except (OSError, AttributeError):
        return


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _ioprio_call(index: int, *args: int) -> int | None:
    """ioprio_set (0) or ioprio_get (1); None where Linux's syscall is not known here."""
    numbers = _IOPRIO_SYSCALLS.get(platform.machine().lower())
    if numbers is None:
        return None
    result: int = _libc().syscall(
        ctypes.c_long(numbers[index]), ctypes.c_long(_IOPRIO_WHO_PROCESS),
        *(ctypes.c_long(a) for a in args),
    )
    if result < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result


def set_io_idle(tid: int) -> bool:
    """Put thread `tid` of this process in the idle I/O class. False (with a warning) where
    that is not possible; True also for a thread that has ended (nothing to do)."""
    try:
        if _ioprio_call(0, tid, IOPRIO_CLASS_IDLE << _IOPRIO_CLASS_SHIFT) is None:
            log.warning("cannot set an I/O class on %s: unknown syscall", platform.machine())
            return False
    except ProcessLookupError:
        return True
    except OSError as exc:
        log.warning("cannot put background thread %d in the idle I/O class: %s", tid, exc)
        return False
    return True


def io_class(tid: int) -> int | None:
    """Thread `tid`'s I/O class (0 when none was set, which Linux treats as best effort,
    or 3 for idle); None where it cannot be read."""
    try:
        value = _ioprio_call(1, tid)
    except OSError:
        return None
    return None if value is None else value >> _IOPRIO_CLASS_SHIFT


def thread_ids() -> set[int]:
    """This process's threads (kernel ids); empty where /proc is not available."""
    try:
        return {int(name) for name in os.listdir(_TASKS)}
    except OSError:
        return set()


def lower_threads(tids: Iterable[int], nice: int, *, io_idle: bool = False) -> None:
    """Add `nice` to each thread's niceness (at most 19); with `io_idle`, also put each in
    the idle I/O class. A thread that has ended is skipped."""
    tids = list(tids)
    if io_idle:
        for tid in tids:
            if not set_io_idle(tid):
                break  # one warning is enough: the others would fail alike
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


@dataclass(frozen=True)
class Background:
    """How far below serving a background thread runs: `nice` steps of niceness (0–19)
    and, with `io_idle`, the idle I/O class. ``Background()`` changes nothing. Settings
    give the ingest's (:attr:`backbeat.config.Settings.background`)."""

    nice: int = 0
    io_idle: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.nice, bool) or not 0 <= self.nice <= 19:
            raise ValueError("nice must be an integer from 0 to 19")

    def lower_self(self) -> None:
        """Lower the calling thread (see :func:`lower_priority`)."""
        lower_priority(self.nice, io_idle=self.io_idle)

    def lower(self, tids: Iterable[int]) -> None:
        """Lower threads by id (see :func:`lower_threads`)."""
        lower_threads(tids, self.nice, io_idle=self.io_idle)
