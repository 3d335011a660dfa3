"""Consume the spools of many producer processes from one process.

Layout: a ROOT directory with one sub-directory per producer, ``<root>/<producer>/``, each a
:class:`Spool` directory (segments + its own ``LOCK``), and the reader's own ``<root>/LOCK``.

Protocol
--------
* **Producers** (HTTP workers) each open ``Spool(root / producer_name(), seal_after_ms=...)``,
  append, call :meth:`Spool.seal_if_older` every so often, and never call ``replay`` or
  ``mark_applied``. A producer name is used once (:func:`producer_name` gives
  ``<prefix>-<start ns>-<pid>``): a dead producer's directory is never reopened, so the
  reader may drain and remove it without racing a restart. (Reopening a name is still safe,
  only not guaranteed to succeed: it raises SpoolLocked while the reader drains that
  directory. A Spool that locked a LOCK file the reader unlinked retries on a fresh one.)
* **Sealed segments** of a live producer are taken while it runs: a segment is sealed once
  a higher-numbered segment exists in the same directory (the Spool creates the next
  segment under its lock when it seals one, and never writes an older segment again).
* **Stopped or dead producers**: when a producer directory's ``LOCK`` is free, the reader
  takes it (non-blocking ``flock``) and *keeps* it while it drains every segment there,
  including the last one, whose torn tail (a crash mid-write, never acknowledged) is cut
  off. Holding the lock is what makes that safe: no Spool can open the directory meanwhile.
  Once the directory has no segment left the reader unlinks ``LOCK`` and removes the
  directory (kept if ``.corrupt`` files remain), then releases the lock. An empty directory
  is only considered after `empty_grace_s`, so a producer between ``mkdir`` and ``flock``
  is not taken for dead.
* **Exactly once, by idempotence.** The reader keeps no state across restarts: the consumer
  stores a segment's items, then calls :meth:`SpoolReader.remove`. A crash between the two
  means the segment is read again after restart, so the consumer must be idempotent by id
  (the event store drops event ids it already has).

One reader per root (an exclusive ``flock`` on ``<root>/LOCK``); it is not thread-safe: use
it from one thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Self, overload

from backbeat.domain.events import Event
from backbeat.store.events.spool import SpoolLocked
from backbeat.store.events.spool_format import (
    EVENT_CODEC,
    Codec,
    T,
    fsync_dir,
    lock_directory,
    read_segment,
    segment_name,
    segment_numbers,
    unlock,
)

log = logging.getLogger(__name__)

DEFAULT_EMPTY_GRACE_S = 60.0


_last_ns = 0
_name_lock = threading.Lock()


def producer_name(prefix: str = "w") -> str:
    """A fresh, never reused producer directory name: ``<prefix>-<start ns>-<pid>``."""
    global _last_ns  # noqa: PLW0603 - strictly increasing within the process
    with _name_lock:
        _last_ns = max(time.time_ns(), _last_ns + 1)
        return f"{prefix}-{_last_ns:020d}-{os.getpid()}"


@dataclass(frozen=True, order=True)
class SegmentRef:
    """One segment ready to consume. `final`: its producer is gone (the reader holds its
    LOCK), so this may be its last segment and end with a torn record."""

    producer: str
    segment: int
    path: Path = field(compare=False)
    final: bool = field(compare=False)


@dataclass
class ReaderStats:
    discarded_bytes: int = 0  # torn or corrupt tails cut off by read
    corrupt: list[SegmentRef] = field(default_factory=list)  # kept aside as .corrupt
    removed: int = 0  # segments removed
    retired: int = 0  # dead producer directories removed


class SpoolReader(Generic[T]):
    """The reader of every producer spool under `root`; see the module docstring."""

    @overload
    def __init__(
        self: SpoolReader[Event], root: Path | str, *, empty_grace_s: float = ...
    ) -> None: ...

    @overload
    def __init__(
        self, root: Path | str, *, codec: Codec[T], empty_grace_s: float = ...
    ) -> None: ...

    def __init__(
        self,
        root: Path | str,
        *,
        codec: Codec[Any] = EVENT_CODEC,
        empty_grace_s: float = DEFAULT_EMPTY_GRACE_S,
    ) -> None:
        self.root = Path(root)
        self.codec: Codec[T] = codec
        self.empty_grace_s = empty_grace_s
        lock_fd = lock_directory(self.root, make_dir=True)
        if lock_fd is None:
            raise SpoolLocked(f"another reader consumes {self.root}")
        self._lock_fd = lock_fd
        self._held: dict[str, int] = {}  # producer -> its LOCK fd, while draining it
        self._kept: set[str] = set()  # drained directories left because of .corrupt files
        self._stats = ReaderStats()
        self._closed = False

    def ready(self) -> list[SegmentRef]:
        """Every segment that can be consumed now, by producer name then segment number:
        the sealed segments of live producers and all segments of stopped or dead ones."""
        if self._closed:
            raise RuntimeError("the spool reader is closed")
        refs: list[SegmentRef] = []
        for name in self._producers():
            directory = self.root / name
            segs = segment_numbers(directory)
            if name not in self._held and (segs or self._is_old(directory)):
                fd = lock_directory(directory, make_dir=False)
                if fd is not None:
                    self._held[name] = fd
                    segs = segment_numbers(directory)  # nothing can add one now
            if name in self._held:
                if not segs:
                    self._retire(name)
                    continue
                refs.extend(SegmentRef(name, s, directory / segment_name(s), True) for s in segs)
            else:
                refs.extend(
                    SegmentRef(name, s, directory / segment_name(s), False) for s in segs[:-1]
                )
        return refs

    def read(self, ref: SegmentRef) -> Iterator[list[T]]:
        """The records of `ref`, in append order, each as the list of items appended at once.

        A torn final record is cut off; corruption before the end is kept aside as
        ``.corrupt`` (see :func:`read_segment`). A segment already removed reads as empty."""

        def on_cut(dropped: int, corrupt: bool) -> None:
            self._stats.discarded_bytes += dropped
            if corrupt:
                self._stats.corrupt.append(ref)

        try:
            yield from read_segment(ref.path, self.codec.decode, on_cut)
        except FileNotFoundError:
            log.warning("spool reader: %s is gone", ref.path)

    def remove(self, ref: SegmentRef) -> None:
        """Delete a consumed segment (call it after its items are stored) and fsync its
        directory. A stopped producer's directory goes with its last segment."""
        ref.path.unlink(missing_ok=True)
        fsync_dir(ref.path.parent)
        self._stats.removed += 1
        if ref.producer in self._held and not segment_numbers(ref.path.parent):
            self._retire(ref.producer)

    def stats(self) -> ReaderStats:
        return ReaderStats(
            self._stats.discarded_bytes,
            list(self._stats.corrupt),
            self._stats.removed,
            self._stats.retired,
        )

    def close(self) -> None:
        """Release the locks of the directories being drained, and the root. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for fd in self._held.values():
            unlock(fd)
        self._held.clear()
        unlock(self._lock_fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------------------
    def _producers(self) -> list[str]:
        try:
            entries = sorted(os.scandir(self.root), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        return [e.name for e in entries if e.is_dir(follow_symlinks=False)]

    def _is_old(self, directory: Path) -> bool:
        try:
            return time.time() - directory.stat().st_mtime >= self.empty_grace_s
        except FileNotFoundError:
            return False

    def _retire(self, name: str) -> None:
        """Remove the drained directory of a stopped producer, then release its LOCK."""
        directory = self.root / name
        fd = self._held.pop(name)
        try:
            left = sorted(p.name for p in directory.iterdir() if p.name != "LOCK")
            if left:
                if name not in self._kept:
                    self._kept.add(name)
                    log.error("spool reader: keeping %s for inspection: %s", directory, left)
                return
            # Unlink LOCK while holding it: a Spool that opened the old file sees the change.
            (directory / "LOCK").unlink(missing_ok=True)
            try:
                directory.rmdir()
            except OSError:  # a producer reopened the name meanwhile and made a new LOCK
                return
            fsync_dir(self.root)
            self._stats.retired += 1
        finally:
            unlock(fd)
