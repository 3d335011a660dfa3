"""A crash-safe, append-only local spool of events with group commit.

Layout: ``<spool_dir>/seg-<16 digits>.log`` segment files, each starting with the 8-byte
magic ``BBSPOOL1`` and followed by records::

    u32 little-endian  payload length
    u32 little-endian  CRC-32 of (the 4 length bytes + payload)
    payload            orjson array of events, each an array of the Event fields in order

**Group commit.** Many threads call :meth:`Spool.append` at once. The first to find no
write in progress becomes the leader: it takes every record queued so far, writes them with
one ``write`` and one ``fdatasync``, then wakes the whole group. ``append`` returns only
after its own record is on disk, so one fsync is shared by every producer that arrived
while the previous one ran.

**Segments.** A segment is sealed when it reaches `segment_bytes`; a new one is created
(and the directory fsynced). The spool counts the events written to each segment; the
consumer reports stored events with :meth:`mark_applied`, and a sealed segment whose events
are all applied is deleted. That is the checkpoint: deletion follows storage, never leads.

**Recovery.** Segments found at open are replayed by :meth:`replay`. A crash can leave the
last record torn (short header, short payload, or a bad CRC at the very end): replay stops
there and truncates it. A bad record followed by more data is corruption, not a torn
write: the damaged tail is kept beside the segment as ``.corrupt`` for inspection.

One process owns a spool directory at a time (an exclusive ``flock`` on ``LOCK``).
"""

from __future__ import annotations

import fcntl
import logging
import operator
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from backbeat.domain.events import Attribution, DropReason, Event, EventType
from backbeat.errors import BackbeatError
from backbeat.store.events.schema import COLUMN_NAMES

log = logging.getLogger(__name__)

MAGIC = b"BBSPOOL1"
_HEADER = struct.Struct("<II")
_LEN = struct.Struct("<I")
DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024
_FIELDS = operator.attrgetter(*COLUMN_NAMES)
_TS, _TYPE, _DROP, _ATTR = (
    COLUMN_NAMES.index(n) for n in ("ts", "type", "drop_reason", "attribution")
)


class SpoolUnavailable(BackbeatError):
    """Events could not be made durable (disk error, spool closed). Status 503: retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], 503, "spool_unavailable")


class SpoolLocked(SpoolUnavailable):
    """Another process holds the spool directory."""


@dataclass(frozen=True)
class ReplayRecord:
    """The events of one spooled record, and the segment they came from."""

    segment: int
    events: list[Event]


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


def encode(events: Sequence[Event]) -> bytes:
    """One framed record holding `events`."""
    payload = orjson.dumps(list(map(_FIELDS, events)))
    length = _LEN.pack(len(payload))
    return length + _LEN.pack(zlib.crc32(payload, zlib.crc32(length))) + payload


def _decode(payload: bytes) -> list[Event]:
    events = []
    for row in orjson.loads(payload):
        row[_TS] = datetime.fromisoformat(row[_TS])
        row[_TYPE] = EventType(row[_TYPE])
        if row[_DROP] is not None:
            row[_DROP] = DropReason(row[_DROP])
        if row[_ATTR] is not None:
            row[_ATTR] = Attribution(row[_ATTR])
        events.append(Event(*row))
    return events


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """The spool in `directory`. Thread-safe; see the module docstring."""

    def __init__(self, directory: Path | str, *, segment_bytes: int = DEFAULT_SEGMENT_BYTES):
        if segment_bytes <= len(MAGIC):
            raise ValueError("segment_bytes is too small")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._lock_fd = os.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolLocked(f"spool {self.directory} is in use by another process") from None
        self._cond = threading.Condition()
        self._pending: list[_Ticket] = []
        self._leading = False
        self._closed = False
        self._recovered = sorted(int(p.stem[4:]) for p in self.directory.glob("seg-*.log"))
        self._next_seq = (self._recovered[-1] + 1) if self._recovered else 1
        self._fd: int | None = None
        self._active = 0
        self._active_size = 0
        self._written: dict[int, int] = {}
        self._applied: dict[int, int] = {}
        self._sealed: set[int] = set()
        self._discarded = 0
        self._corrupt: list[int] = []
        self._groups = 0
        self._records = 0

    def path(self, segment: int) -> Path:
        return self.directory / f"seg-{segment:016d}.log"

    # appending --------------------------------------------------------------
    def append(self, events: Sequence[Event]) -> int:
        """Write `events` as one record and return once it is fsynced, with its segment.

        Raises SpoolUnavailable when the write or fsync fails or the spool is closed."""
        ticket = _Ticket(encode(events), len(events))
        with self._cond:
            if self._closed:
                raise SpoolUnavailable("the spool is closed")
            self._pending.append(ticket)
            while not ticket.done:
                if self._leading:
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
        try:
            if self._fd is None or (
                self._active_size > len(MAGIC)
                and self._active_size + len(data) > self.segment_bytes
            ):
                self._rotate()  # under the lock: rare, and keeps sealing atomic for readers
            fd, start = self._fd, self._active_size
            assert fd is not None
            self._cond.release()
            try:
                error = self._write(fd, start, data)
            finally:
                self._cond.acquire()
        except Exception as exc:  # any failure must still wake the group, never strand it
            error = exc
        self._leading = False
        if error is None:
            self._active_size += len(data)
            self._written[self._active] = self._written.get(self._active, 0) + sum(
                t.count for t in group
            )
            self._groups += 1
            self._records += len(group)
        for t in group:
            t.done, t.segment, t.error = True, self._active, error
        self._cond.notify_all()

    @staticmethod
    def _write(fd: int, start: int, data: bytes) -> OSError | None:
        try:
            view = memoryview(data)
            offset = start
            while view:
                n = os.pwrite(fd, view, offset)
                view, offset = view[n:], offset + n
            os.fdatasync(fd)
        except OSError as exc:
            try:  # drop a partial group so a later group does not follow garbage
                os.ftruncate(fd, start)
            except OSError:
                log.exception("spool: cannot truncate after a failed write")
            return exc
        return None

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._sealed.add(self._active)
            self._maybe_delete(self._active)
        seq = self._next_seq
        path = self.path(seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, MAGIC)
            os.fdatasync(fd)
            _fsync_dir(self.directory)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        self._next_seq = seq + 1
        self._fd, self._active, self._active_size = fd, seq, len(MAGIC)
        self._written.setdefault(seq, 0)

    # checkpointing ----------------------------------------------------------
    def mark_applied(self, segment: int, events: int) -> bool:
        """Record that `events` events of `segment` are in the store. Deletes the segment,
        and returns True, once it is sealed and all its events are applied."""
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
    def replay(self) -> Iterator[ReplayRecord]:
        """Yield the records of the segments that existed when the spool was opened, oldest
        first. A segment becomes deletable (by `mark_applied`) only after it is fully read."""
        while True:
            with self._cond:
                if not self._recovered:
                    return
                seq = self._recovered.pop(0)
                self._written.setdefault(seq, 0)
            for events in self._read_segment(seq):
                with self._cond:
                    self._written[seq] += len(events)
                yield ReplayRecord(seq, events)
            with self._cond:
                self._sealed.add(seq)
                self._maybe_delete(seq)

    def _read_segment(self, seq: int) -> Iterator[list[Event]]:
        path = self.path(seq)
        data = path.read_bytes()
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            self._discard(path, 0, data, corrupt=False)  # crashed while creating it
            return
        if not data.startswith(MAGIC):
            self._discard(path, 0, data, corrupt=True)
            return
        off = len(MAGIC)
        while off < len(data):
            if len(data) - off < _HEADER.size:
                self._discard(path, off, data, corrupt=False)
                return
            length, crc = _HEADER.unpack_from(data, off)
            end = off + _HEADER.size + length
            if end > len(data):
                self._discard(path, off, data, corrupt=False)
                return
            payload = data[off + _HEADER.size : end]
            if zlib.crc32(payload, zlib.crc32(data[off : off + 4])) != crc:
                self._discard(path, off, data, corrupt=end < len(data))
                return
            try:
                events = _decode(payload)
            except (orjson.JSONDecodeError, TypeError, ValueError, IndexError) as exc:
                log.error("spool: undecodable record in %s at %d: %s", path, off, exc)
                self._discard(path, off, data, corrupt=True)
                return
            yield events
            off = end

    def _discard(self, path: Path, off: int, data: bytes, *, corrupt: bool) -> None:
        """Cut the file at `off`; keep the cut bytes beside it when they are corruption."""
        tail = len(data) - off
        if corrupt:
            seq = int(path.stem[4:])
            path.with_name(f"{path.name}.{off}.corrupt").write_bytes(data[off:])
            log.error("spool: %s is corrupt at byte %d; kept %d bytes aside", path, off, tail)
            with self._cond:
                self._corrupt.append(seq)
        else:
            log.warning("spool: dropped a torn final record of %d bytes in %s", tail, path)
        with self._cond:
            self._discarded += tail
        os.truncate(path, off)  # off is 0 (bad or partial magic) or a record boundary
        fd = os.open(path, os.O_WRONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # introspection ------------------------------------------------------------
    def segments(self) -> list[int]:
        """Sequence numbers of the segment files on disk, oldest first."""
        return sorted(int(p.stem[4:]) for p in self.directory.glob("seg-*.log"))

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
            )

    def close(self) -> None:
        """Seal the active segment (deleting it if fully applied) and release the directory.
        Idempotent. Waits for a group commit in progress."""
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
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
