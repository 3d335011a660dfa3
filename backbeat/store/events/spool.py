"""A crash-safe, append-only local spool of records with group commit.

Layout: ``<spool_dir>/seg-<16 digits>.log`` segment files of framed records (see
:mod:`backbeat.store.events.spool_format`). Each :meth:`Spool.append` writes one record, the
payload of which a codec makes from the appended items: :data:`EVENT_CODEC` (events, the
default and the historical format) or any :class:`Codec`.

**Group commit.** Many threads call :meth:`Spool.append` at once. The first to find no
write in progress becomes the leader: it takes every record queued so far, writes them with
one ``write`` and one ``fdatasync``, then wakes the whole group. ``append`` returns only
after its own record is on disk, so one fsync is shared by every producer that arrived
while the previous one ran.

**Segments.** A segment is sealed when it reaches `segment_bytes`, on :meth:`seal`, and (with
`seal_after_ms`) when an append finds it older than that; the next segment is created at
once (and the directory fsynced), so *a segment is sealed exactly when a higher-numbered one
exists*. That is the rule a :class:`SpoolReader` in another process relies on to take
sealed segments while the producer keeps appending.

**Checkpoints (single process).** The spool counts the items written to each segment; the
consumer reports stored items with :meth:`mark_applied`, and a sealed segment whose items
are all applied is deleted: deletion follows storage, never leads. When a SpoolReader
consumes the segments instead, the producer never calls `mark_applied` (nor `replay`); the
reader deletes what it consumed and the spool forgets segments whose file is gone.

**Recovery.** Segments found at open are replayed by :meth:`replay`. A crash can leave the
last record torn (short header, short payload, or a bad CRC at the very end): replay stops
there and truncates it. A bad record followed by more data is corruption, not a torn
write: the damaged tail is kept beside the segment as ``.corrupt`` for inspection.

One process owns a spool directory at a time (an exclusive ``flock`` on ``LOCK``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Self, overload

from backbeat.domain.events import Event
from backbeat.errors import BackbeatError
from backbeat.store.events.spool_format import (
    EVENT_CODEC,
    MAGIC,
    Codec,
    T,
    frame,
    fsync_dir,
    lock_directory,
    read_segment,
    segment_name,
    segment_numbers,
    unlock,
)

__all__ = [
    "DEFAULT_SEGMENT_BYTES",
    "EVENT_CODEC",
    "MAGIC",
    "Codec",
    "ReplayRecord",
    "Spool",
    "SpoolLocked",
    "SpoolStats",
    "SpoolUnavailable",
    "encode",
]

log = logging.getLogger(__name__)

DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024


class SpoolUnavailable(BackbeatError):
    """Events could not be made durable (disk error, spool closed). Status 503: retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], 503, "spool_unavailable")


class SpoolLocked(SpoolUnavailable):
    """Another process holds the spool directory."""


@dataclass(frozen=True)
class ReplayRecord(Generic[T]):
    """The items of one spooled record, and the segment they came from."""

    segment: int
    events: list[T]  # the name predates codecs: the decoded items, events by default

    @property
    def items(self) -> list[T]:
        return self.events


@dataclass
class _Ticket:
    record: bytes
    count: int
    done: bool = False
    segment: int = 0
    error: BaseException | None = None


@dataclass
class SpoolStats:
    segments: int
    bytes: int
    discarded_bytes: int  # torn or corrupt tails dropped by replay
    groups: int  # fsyncs done by append
    records: int  # appends made durable
    corrupt_segments: list[int] = field(default_factory=list)
    seals: int = 0  # segments sealed before they were full (seal, seal_after_ms)


def encode(events: Sequence[Event]) -> bytes:
    """One framed record holding `events` (the default codec)."""
    return frame(EVENT_CODEC.encode(events))


class Spool(Generic[T]):
    """The spool in `directory`, holding items of type T. Thread-safe; see the module docstring.

    `seal_after_ms`: when set, an append that finds the active segment's first record older
    than that seals the segment before writing. An idle producer appends nothing, so its
    owner should also call :meth:`seal_if_older` every so often (say every `seal_after_ms`):
    a record then becomes visible to a SpoolReader at most about 2 x `seal_after_ms` after
    its append returned, plus the reader's polling interval."""

    @overload
    def __init__(
        self: Spool[Event],
        directory: Path | str,
        *,
        segment_bytes: int = ...,
        seal_after_ms: int | None = ...,
        durable: bool = ...,
    ) -> None: ...

    @overload
    def __init__(
        self,
        directory: Path | str,
        *,
        segment_bytes: int = ...,
        codec: Codec[T],
        seal_after_ms: int | None = ...,
        durable: bool = ...,
    ) -> None: ...

    def __init__(
        self,
        directory: Path | str,
        *,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        codec: Codec[Any] = EVENT_CODEC,
        seal_after_ms: int | None = None,
        durable: bool = True,
    ) -> None:
        if segment_bytes <= len(MAGIC):
            raise ValueError("segment_bytes is too small")
        if seal_after_ms is not None and seal_after_ms < 0:
            raise ValueError("seal_after_ms must not be negative")
        self.directory = Path(directory)
        self.segment_bytes = segment_bytes
        self.codec: Codec[T] = codec
        self.seal_after_ms = seal_after_ms
        # durable=False: records nobody waits for (ad decisions). Appends skip fdatasync, so
        # a machine crash may lose the last of them (a process crash loses nothing: the
        # page cache survives it); everything else works the same.
        self.durable = durable
        lock_fd = lock_directory(self.directory, make_dir=True)
        if lock_fd is None:
            raise SpoolLocked(f"spool {self.directory} is in use by another process")
        self._lock_fd = lock_fd
        self._cond = threading.Condition()
        self._pending: list[_Ticket] = []
        self._leading = False
        self._sealing = 0  # seal calls waiting for the group in progress; they go first
        self._closed = False
        self._recovered = segment_numbers(self.directory)
        self._next_seq = (self._recovered[-1] + 1) if self._recovered else 1
        self._fd: int | None = None
        self._active = 0
        self._active_size = 0
        self._active_since = 0.0  # monotonic time of the active segment's first record
        self._written: dict[int, int] = {}
        self._applied: dict[int, int] = {}
        self._sealed: set[int] = set()
        self._discarded = 0
        self._corrupt: list[int] = []
        self._groups = 0
        self._records = 0
        self._seals = 0

    def path(self, segment: int) -> Path:
        return self.directory / segment_name(segment)

    # appending --------------------------------------------------------------
    def append(self, items: Sequence[T]) -> int:
        """Write `items` as one record and return once it is fsynced, with its segment.

        Raises SpoolUnavailable when the write or fsync fails or the spool is closed."""
        ticket = _Ticket(frame(self.codec.encode(items)), len(items))
        with self._cond:
            if self._closed:
                raise SpoolUnavailable("the spool is closed")
            self._pending.append(ticket)
            while not ticket.done:
                if self._leading or self._sealing:
                    self._cond.wait()
                    continue
                self._lead()
        if ticket.error is not None:
            raise SpoolUnavailable(f"cannot write the spool: {ticket.error}") from ticket.error
        return ticket.segment

    def _lead(self) -> None:
        """Write every pending record as one group. Called and returns with the lock held."""
        group, self._pending = self._pending, []
        self._leading = True
        error: BaseException | None = None
        data = b"".join(t.record for t in group)
        now = time.monotonic()
        try:
            if self._fd is None:
                self._rotate()
            elif self._active_size + len(data) > self.segment_bytes and self._has_records():
                self._rotate()  # under the lock: rare, and keeps sealing atomic for readers
            elif self._older_than(self.seal_after_ms, now):
                self._rotate()
                self._seals += 1
            fd, start = self._fd, self._active_size
            assert fd is not None
            self._cond.release()
            try:
                error = self._write(fd, start, data, self.durable)
            finally:
                self._cond.acquire()
        except Exception as exc:  # any failure must still wake the group, never strand it
            error = exc
        self._leading = False
        if error is None:
            if not self._has_records():
                self._active_since = now
            self._active_size += len(data)
            self._written[self._active] = self._written.get(self._active, 0) + sum(
                t.count for t in group
            )
            self._groups += 1
            self._records += len(group)
        for t in group:
            t.done, t.segment, t.error = True, self._active, error
        self._cond.notify_all()

    def _has_records(self) -> bool:
        return self._fd is not None and self._active_size > len(MAGIC)

    def _older_than(self, ms: int | None, now: float) -> bool:
        return ms is not None and self._has_records() and now - self._active_since >= ms / 1000

    @staticmethod
    def _write(fd: int, start: int, data: bytes, sync: bool = True) -> OSError | None:
        try:
            view = memoryview(data)
            offset = start
            while view:
                n = os.pwrite(fd, view, offset)
                view, offset = view[n:], offset + n
            if sync:
                os.fdatasync(fd)
        except OSError as exc:
            try:  # drop a partial group so a later group does not follow garbage
                os.ftruncate(fd, start)
            except OSError:
                log.exception("spool: cannot truncate after a failed write")
            return exc
        return None

    def _rotate(self) -> None:
        """Seal the active segment (if any) and start the next one. With the lock held and no
        group being written."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._sealed.add(self._active)
            self._maybe_delete(self._active)
            self._forget_removed()
        seq = self._next_seq
        path = self.path(seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, MAGIC)
            if self.durable:
                os.fdatasync(fd)
                fsync_dir(self.directory)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        self._next_seq = seq + 1
        self._fd, self._active, self._active_size = fd, seq, len(MAGIC)
        self._written.setdefault(seq, 0)

    def _forget_removed(self) -> None:
        """Drop the accounting of sealed segments another process (a SpoolReader) deleted."""
        for seg in [s for s in self._sealed if not self.path(s).exists()]:
            self._sealed.discard(seg)
            self._written.pop(seg, None)
            self._applied.pop(seg, None)

    # sealing ------------------------------------------------------------------
    def seal(self) -> bool:
        """Seal the active segment if it holds a record; the next append goes to a new one.

        Returns True if a segment was sealed; False when there was nothing to seal (idempotent)
        or the spool is closed. Waits for the group commit in progress (new groups wait for
        the seal), so appends racing with the seal land in one segment or the next, each
        exactly once. Raises SpoolUnavailable if the next segment cannot be
        created (the active one stays open then)."""
        return self._seal_if(self._has_records)

    def seal_if_older(self, ms: int | None = None) -> bool:
        """Seal the active segment if its first record is at least `ms` old (default:
        `seal_after_ms`). For the owner to call periodically, so an idle producer's last
        records reach the reader too. Returns True if a segment was sealed."""
        limit = self.seal_after_ms if ms is None else ms
        if limit is None:
            raise ValueError("seal_if_older needs ms when the spool has no seal_after_ms")
        return self._seal_if(lambda: self._older_than(limit, time.monotonic()))

    def _seal_if(self, due: Callable[[], bool]) -> bool:
        with self._cond:
            self._sealing += 1  # no new group starts meanwhile: a seal is never starved
            try:
                while self._leading:
                    self._cond.wait()
                if self._closed or not due():
                    return False
                try:
                    self._rotate()
                except OSError as exc:
                    raise SpoolUnavailable(f"cannot seal the spool: {exc}") from exc
                self._seals += 1
                return True
            finally:
                self._sealing -= 1
                self._cond.notify_all()

    # checkpointing ----------------------------------------------------------
    def mark_applied(self, segment: int, events: int) -> bool:
        """Record that `events` items of `segment` are in the store. Deletes the segment,
        and returns True, once it is sealed and all its items are applied."""
        with self._cond:
            self._applied[segment] = self._applied.get(segment, 0) + events
            return self._maybe_delete(segment)

    def _maybe_delete(self, segment: int) -> bool:
        if segment not in self._sealed:
            return False
        if self._applied.get(segment, 0) < self._written.get(segment, 0):
            return False
        self.path(segment).unlink(missing_ok=True)
        self._sealed.discard(segment)
        self._written.pop(segment, None)
        self._applied.pop(segment, None)
        return True

    # recovery ---------------------------------------------------------------
    def replay(self) -> Iterator[ReplayRecord[T]]:
        """Yield the records of the segments that existed when the spool was opened, oldest
        first. A segment becomes deletable (by `mark_applied`) only after it is fully read."""
        while True:
            with self._cond:
                if not self._recovered:
                    return
                seq = self._recovered.pop(0)
                self._written.setdefault(seq, 0)
            for items in self._read_segment(seq):
                with self._cond:
                    self._written[seq] += len(items)
                yield ReplayRecord(seq, items)
            with self._cond:
                self._sealed.add(seq)
                self._maybe_delete(seq)

    def _read_segment(self, seq: int) -> Iterator[list[T]]:
        def on_cut(dropped: int, corrupt: bool) -> None:
            with self._cond:
                self._discarded += dropped
                if corrupt:
                    self._corrupt.append(seq)

        return read_segment(self.path(seq), self.codec.decode, on_cut)

    # introspection ------------------------------------------------------------
    def segments(self) -> list[int]:
        """Sequence numbers of the segment files on disk, oldest first."""
        return segment_numbers(self.directory)

    def size_bytes(self) -> int:
        total = 0
        for p in self.directory.glob("seg-*.log"):
            try:
                total += p.stat().st_size
            except FileNotFoundError:  # deleted by a checkpoint meanwhile
                continue
        return total

    def stats(self) -> SpoolStats:
        segs = self.segments()
        with self._cond:
            return SpoolStats(
                len(segs),
                self.size_bytes(),
                self._discarded,
                self._groups,
                self._records,
                list(self._corrupt),
                self._seals,
            )

    def close(self) -> None:
        """Seal the active segment (deleting it if fully applied, or empty) and release the
        directory. Idempotent. Waits for a group commit in progress."""
        with self._cond:
            while self._leading:
                self._cond.wait()
            if self._closed:
                return
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self._sealed.add(self._active)
                self._maybe_delete(self._active)
            for ticket in self._pending:  # cannot happen after the wait, but never hang
                ticket.done, ticket.error = True, SpoolUnavailable("the spool is closed")
            self._cond.notify_all()
        unlock(self._lock_fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
