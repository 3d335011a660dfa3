"""Background threads below the serving threads: niceness as the kernel reports it, and
the I/O class as ioprio_get reports it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backbeat.priority import (
    IOPRIO_CLASS_IDLE,
    io_class,
    lower_priority,
    lower_threads,
    lower_to,
    niceness,
    set_io_idle,
    thread_ids,
)


def nice_of(tid: int) -> int:
    """A thread's niceness as the kernel reports it (/proc/self/task/<tid>/stat, field 19)."""
    stat = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(stat[16])


def _in_a_thread(work: object) -> tuple[int, int]:
    """Run `work` on a new thread that then waits; (its id, its niceness after)."""
    ready, done = threading.Event(), threading.Event()
    seen: list[int] = []

    def run() -> None:
        if callable(work):
            work()
        seen.append(threading.get_native_id())
        ready.set()
        done.wait(10)

    t = threading.Thread(target=run)
    t.start()
    assert ready.wait(10)
    try:
        return seen[0], nice_of(seen[0])
    finally:
        done.set()
        t.join()


def test_a_thread_lowers_its_own_priority_and_no_other() -> None:
    own = nice_of(threading.get_native_id())
    _, niceness = _in_a_thread(lambda: lower_priority(4))
    assert niceness == min(19, own + 4)
    assert nice_of(threading.get_native_id()) == own


def test_a_thread_lowers_itself_to_a_niceness_whatever_it_inherited() -> None:
    own = nice_of(threading.get_native_id())
    assert niceness() == own

    def inherited_then_lowered() -> None:
        lower_priority(3)  # as if started by a thread already lowered
        assert niceness() == min(19, own + 3)
        lower_to(own + 6)

    _, reached = _in_a_thread(inherited_then_lowered)
    assert reached == min(19, own + 6)  # not own + 3 + 6

    def lowered_further_already() -> None:
        lower_priority(8)
        lower_to(own + 2)

    _, kept = _in_a_thread(lowered_further_already)
    assert kept == min(19, own + 8)  # never raised back
    _, capped = _in_a_thread(lambda: lower_to(40))
    assert capped == 19
    assert nice_of(threading.get_native_id()) == own


@contextmanager
def _waiting_thread() -> Iterator[int]:
    """A thread that waits until the block ends; yields its id."""
    ready, done = threading.Event(), threading.Event()
    ids: list[int] = []

    def run() -> None:
        ids.append(threading.get_native_id())
        ready.set()
        done.wait(10)

    t = threading.Thread(target=run)
    t.start()
    try:
        assert ready.wait(10)
        yield ids[0]
    finally:
        done.set()
        t.join()


def test_threads_are_lowered_by_id_up_to_19() -> None:
    with _waiting_thread() as tid:
        assert tid in thread_ids()
        own = nice_of(tid)
        lower_threads([tid], 3)
        assert nice_of(tid) == min(19, own + 3)
        lower_threads([tid], 30)
        assert nice_of(tid) == 19
        lower_threads([2**22 + 12345], 3)  # no such thread: skipped quietly


def test_a_failure_is_a_warning(monkeypatch: pytest.MonkeyPatch,
                                caplog: pytest.LogCaptureFixture) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError("not here")

    monkeypatch.setattr("os.setpriority", refuse)
    lower_threads([threading.get_native_id()], 2)
    assert "cannot lower the priority" in caplog.text


def test_a_thread_can_put_itself_in_the_idle_io_class_and_no_other() -> None:
    own = io_class(threading.get_native_id())
    assert own is not None and own != IOPRIO_CLASS_IDLE  # Linux: readable, not idle yet
    classes: list[int | None] = []

    def work() -> None:
        lower_priority(0, io_idle=True)
        classes.append(io_class(threading.get_native_id()))

    _, niceness = _in_a_thread(work)
    assert classes == [IOPRIO_CLASS_IDLE]
    assert niceness == nice_of(threading.get_native_id())  # nice 0: unchanged
    assert io_class(threading.get_native_id()) == own


def test_threads_are_put_in_the_idle_io_class_by_id() -> None:
    with _waiting_thread() as tid:
        own = nice_of(tid)
        lower_threads([2**22 + 12345, tid], 2, io_idle=True)  # an ended one is skipped
        assert io_class(tid) == IOPRIO_CLASS_IDLE
        assert nice_of(tid) == min(19, own + 2)


def test_an_io_class_failure_is_a_warning(monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("platform.machine", lambda: "vax")
    assert not set_io_idle(threading.get_native_id())
    assert "unknown syscall" in caplog.text
    assert io_class(threading.get_native_id()) is None
    caplog.clear()

    def refuse(*args: object) -> int:
        raise PermissionError(1, "not here")

    monkeypatch.undo()
    monkeypatch.setattr("backbeat.priority._ioprio_call", refuse)
    lower_threads([threading.get_native_id()], 0, io_idle=True)
    assert "idle I/O class" in caplog.text


def test_a_background_value_lowers_threads_as_the_functions_do() -> None:
    from backbeat.priority import Background

    own = nice_of(threading.get_native_id())
    _, niceness_after = _in_a_thread(Background(3, io_idle=False).lower_self)
    assert niceness_after == min(19, own + 3)
    with _waiting_thread() as tid:
        Background(2, io_idle=True).lower([tid])
        assert nice_of(tid) == min(19, own + 2) and io_class(tid) == IOPRIO_CLASS_IDLE
    _, unchanged = _in_a_thread(Background().lower_self)
    assert unchanged == own
    for bad in (-1, 20, True):
        with pytest.raises(ValueError, match="nice"):
            Background(bad)


def test_a_lowered_thread_takes_its_python_name_in_the_kernel() -> None:
    from backbeat.priority import name_native_thread

    comms: list[str] = []

    def run() -> None:
        lower_priority(0)
        comms.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text())
        name_native_thread("a-much-longer-name-than-fifteen")
        comms.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text())

    thread = threading.Thread(target=run, name="hit-store")
    thread.start()
    thread.join()
    assert comms == ["hit-store\n", "a-much-longer-n\n"]
    main = Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text()
    assert main != "hit-store\n"
