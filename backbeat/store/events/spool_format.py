"""The on-disk format of spool segments, shared by :class:`Spool` and :class:`SpoolReader`.

A segment file ``seg-<16 digits>.log`` starts with the 8-byte magic ``BBSPOOL1`` and is
followed by records::

    u32 little-endian  payload length
    u32 little-endian  CRC-32 of (the 4 length bytes + payload)
    payload            bytes produced by the spool's codec

The payload is opaque here: a :class:`Codec` turns a batch of items into it and back. The
default :data:`EVENT_CODEC` writes an orjson array of events, each an array of the Event
fields in column order (the format every spool has used so far).
"""

from __future__ import annotations

import fcntl
import logging
import operator
import os
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

import orjson

from backbeat.domain.events import Attribution, DropReason, Event, EventType
from backbeat.store.events.schema import COLUMN_NAMES

log = logging.getLogger(__name__)

MAGIC = b"BBSPOOL1"
HEADER = struct.Struct("<II")
_LEN = struct.Struct("<I")
_FIELDS = operator.attrgetter(*COLUMN_NAMES)
_TS, _TYPE, _DROP, _ATTR = (
    COLUMN_NAMES.index(n) for n in ("ts", "type", "drop_reason", "attribution")
)
# What a codec may raise on a payload it cannot decode: the record is then corruption.
DECODE_ERRORS = (ValueError, TypeError, IndexError, KeyError)

T = TypeVar("T")


class Codec(Protocol[T]):
    """Turns one appended batch into a record payload and back.

    `decode(encode(items))` must equal `list(items)`. `decode` raises ValueError, TypeError,
    IndexError or KeyError for a payload it cannot read (the record is then kept aside as
    corruption). Framing, the CRC and durability are the spool's business, not the codec's."""

    def encode(self, items: Sequence[T], /) -> bytes: ...

    def decode(self, payload: bytes, /) -> list[T]: ...


class EventCodec:
    """The default codec: an orjson array of events, each an array of its fields in order."""

    def encode(self, items: Sequence[Event], /) -> bytes:
        return orjson.dumps(list(map(_FIELDS, items)))

    def decode(self, payload: bytes, /) -> list[Event]:
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


EVENT_CODEC = EventCodec()


def frame(payload: bytes) -> bytes:
    """One framed record: length, CRC, payload."""
    length = _LEN.pack(len(payload))
    return length + _LEN.pack(zlib.crc32(payload, zlib.crc32(length))) + payload


def segment_name(seq: int) -> str:
    return f"seg-{seq:016d}.log"


def segment_numbers(directory: Path) -> list[int]:
    """Sequence numbers of the segment files in `directory`, oldest first."""
    try:
        names = os.listdir(directory)  # polled often by the reader: no Path per entry
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(n[4:20]) for n in names if _is_segment_name(n))


def _is_segment_name(name: str) -> bool:
    digits = name[4:20]
    return (
        len(name) == 24
        and name.startswith("seg-")
        and name.endswith(".log")
        and digits.isascii()
        and digits.isdigit()
    )


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Called as on_cut(dropped_bytes, corrupt) when read_segment cuts a segment.
OnCut = Callable[[int, bool], None]


def read_segment(
    path: Path, decode: Callable[[bytes], list[T]], on_cut: OnCut | None = None
) -> Iterator[list[T]]:
    """Yield the decoded records of the segment at `path`, in order.

    Only for a segment nobody writes any more. A torn final record (short header, short
    payload, or a bad CRC at the very end: a crash mid-write) is cut off. A bad record
    followed by more data is corruption: the damaged tail is kept beside the segment as
    ``<name>.<offset>.corrupt`` and cut off too. Either way the file ends at the last good
    record boundary afterwards and `on_cut` is told."""
    data = path.read_bytes()
    if len(data) < len(MAGIC) and MAGIC.startswith(data):
        _cut(path, 0, data, corrupt=False, on_cut=on_cut)  # crashed while creating it
        return
    if not data.startswith(MAGIC):
        _cut(path, 0, data, corrupt=True, on_cut=on_cut)
        return
    off = len(MAGIC)
    while off < len(data):
        if len(data) - off < HEADER.size:
            _cut(path, off, data, corrupt=False, on_cut=on_cut)
            return
        length, crc = HEADER.unpack_from(data, off)
        end = off + HEADER.size + length
        if end > len(data):
            _cut(path, off, data, corrupt=False, on_cut=on_cut)
            return
        payload = data[off + HEADER.size : end]
        if zlib.crc32(payload, zlib.crc32(data[off : off + 4])) != crc:
            _cut(path, off, data, corrupt=end < len(data), on_cut=on_cut)
            return
        try:
            items = decode(payload)
        except DECODE_ERRORS as exc:
            log.error("spool: undecodable record in %s at %d: %s", path, off, exc)
            _cut(path, off, data, corrupt=True, on_cut=on_cut)
            return
        yield items
        off = end


def _cut(path: Path, off: int, data: bytes, *, corrupt: bool, on_cut: OnCut | None) -> None:
    """Cut the file at `off`; keep the cut bytes beside it when they are corruption."""
    tail = len(data) - off
    if corrupt:
        aside = path.with_name(f"{path.name}.{off}.corrupt")
        with aside.open("wb") as fh:  # durable before the segment loses these bytes
            fh.write(data[off:])
            fh.flush()
            os.fsync(fh.fileno())
        log.error("spool: %s is corrupt at byte %d; kept %d bytes aside", path, off, tail)
    else:
        log.warning("spool: dropped a torn final record of %d bytes in %s", tail, path)
    if on_cut is not None:
        on_cut(tail, corrupt)
    os.truncate(path, off)  # off is 0 (bad or partial magic) or a record boundary
    fd = os.open(path, os.O_WRONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def lock_directory(directory: Path, *, make_dir: bool) -> int | None:
    """Take the exclusive ``flock`` on ``<directory>/LOCK`` without blocking; return its fd.

    None when another process holds it (or, without `make_dir`, when the directory is gone).
    The lock is good only if ``LOCK`` is still the file that was locked: a
    :class:`SpoolReader` unlinks the LOCK of a producer directory it drained (while holding
    it) before removing the directory, so a process that locked the old file retries on a
    fresh one instead of writing into a directory about to vanish."""
    lock = directory / "LOCK"
    while True:
        if make_dir:
            directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            if make_dir:
                continue  # the directory was removed between mkdir and open
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            now = os.stat(lock)
        except FileNotFoundError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            return fd
        unlock(fd)  # we locked a LOCK file that was unlinked meanwhile: try a fresh one


def unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
