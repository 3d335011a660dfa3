"""A serving worker's side of the hand-off: spool durably, let the ingest process store.

With several serving workers only the ingest process may open the event store (DuckDB
allows one process per file). Each worker therefore writes what it acknowledges into a
spool of its own under a shared root (``<root>/<producer>/``, see
:mod:`backbeat.store.events.spool_reader`), and the ingest process consumes every
worker's spool. :class:`SpoolSink` is that worker side: :meth:`submit` returns once the
items are fsynced (the acknowledgement, as with :class:`EventWriter`), and a small thread
seals the active segment every `seal_ms` so the ingest process sees a quiet worker's last
records too. A record reaches the ingest process at most about 2 x `seal_ms` after it was
acknowledged, plus the ingest loop's polling period.

The sink keeps nothing in memory: a worker that dies leaves a spool the ingest process
drains (its torn tail, never acknowledged, is cut off).

Decision events are read back by the ingest process as raw rows (:class:`RowCodec`, the
same bytes :data:`EVENT_CODEC` writes) and turned into Arrow column by column
(:func:`rows_to_arrow`): about half the cost of rebuilding Event objects first, which
matters because every ad decision is an event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Generic

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from backbeat.domain.events import Event
from backbeat.errors import ValidationFailed
from backbeat.store.events.schema import ARROW_SCHEMA, column_problem, to_arrow
from backbeat.store.events.spool import Spool
from backbeat.store.events.spool_format import EVENT_CODEC, Codec, T
from backbeat.store.events.spool_reader import producer_name
from backbeat.store.events.writer import WriterStats

log = logging.getLogger(__name__)

DEFAULT_SEAL_MS = 100


class SpoolSink(Generic[T]):
    """Durable, acknowledged hand-off of items to the ingest process (one per worker).

    `durable=False` is for items nobody waits for (ad decisions): appends skip the
    fdatasync, which leaves the disk to the beacons' group commits."""

    def __init__(
        self,
        root: Path,
        codec: Codec[T],
        *,
        seal_ms: int = DEFAULT_SEAL_MS,
        prefix: str = "w",
        durable: bool = True,
    ) -> None:
        if seal_ms < 1:
            raise ValueError("seal_ms must be at least 1")
        self.seal_ms = seal_ms
        self.spool: Spool[T] = Spool(
            root / producer_name(prefix), codec=codec, seal_after_ms=seal_ms, durable=durable
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._submitted = 0

    def start(self) -> int:
        """Start sealing on the interval. Returns 0: a sink never replays (the ingest
        process drains what a previous worker left)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._seal_loop, name="spool-sealer",
                                            daemon=True)
            self._thread.start()
        return 0

    def submit(self, items: Sequence[T]) -> None:
        """Append `items` as one record; return once they are on disk."""
        if not items:
            return
        self.spool.append(items)
        with self._lock:
            self._submitted += len(items)

    def flush(self, timeout: float | None = None) -> bool:
        """Seal now, so everything acknowledged so far can be taken by the ingest process
        (it is stored once the ingest loop has run; this does not wait for that)."""
        self.spool.seal()
        return True

    def close(self, timeout: float | None = None) -> None:
        """Stop the sealer; seal and release the spool. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.spool.close()

    def stats(self) -> WriterStats:
        with self._lock:
            submitted = self._submitted
        return WriterStats(
            queued=0,
            submitted=submitted,
            written=0,
            replayed=0,
            flushes=0,
            spool_bytes=self.spool.size_bytes(),
            last_flush_at=None,
            last_flush_rows=0,
            last_error=None,
        )

    def _seal_loop(self) -> None:
        period = self.seal_ms / 1000
        while not self._stop.wait(period):
            try:
                self.spool.seal_if_older(self.seal_ms)
            except Exception:  # a disk error: appends will report it; keep trying
                log.exception("spool sink: cannot seal %s", self.spool.directory)
                time.sleep(period)


Rows = list[list[Any]]
"""Spooled events as the encoder wrote them: one list of field values per event."""


class RowCodec:
    """Reads an event spool without building Event objects (see :func:`rows_to_arrow`)."""

    def encode(self, items: Sequence[list[Any]], /) -> bytes:
        return orjson.dumps(list(items))

    def decode(self, payload: bytes, /) -> Rows:
        rows = orjson.loads(payload)
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ValueError("an event spool record holds a list of rows")
        return rows


def rows_to_arrow(rows: Rows) -> pa.Table:
    """Rows written by :data:`EVENT_CODEC` as an Arrow table with the event schema.

    Rows that do not fit (another version's spool, a damaged record that still passed its
    CRC) are checked one event at a time with the full validation of
    :func:`~backbeat.store.events.schema.to_arrow`; those that fail are logged and dropped
    rather than block the ingest loop forever."""
    if not rows:
        return ARROW_SCHEMA.empty_table()
    try:
        return _columns(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        log.warning("ingest: %d spooled rows need the slow path", len(rows))
    events: list[Event] = []
    for row in rows:
        try:
            (event,) = EVENT_CODEC.decode(orjson.dumps([row]))
            to_arrow([event])
        except (ValidationFailed, ValueError, TypeError, KeyError, IndexError) as exc:
            log.error("ingest: dropping an unstorable spooled event %r: %s", row[:1], exc)
            continue
        events.append(event)
    return to_arrow(events) if events else ARROW_SCHEMA.empty_table()


def _columns(rows: Rows) -> pa.Table:
    width = len(ARROW_SCHEMA)
    if any(len(r) != width for r in rows):
        raise ValueError("a spooled row has the wrong number of fields")
    columns = list(zip(*rows, strict=True))
    arrays: list[pa.Array] = []
    for f, values in zip(ARROW_SCHEMA, columns, strict=True):
        if pa.types.is_timestamp(f.type):
            # ISO 8601 with an offset, as orjson writes aware datetimes; stored as UTC
            utc = pc.cast(pa.array(values, pa.string()), pa.timestamp(f.type.unit, tz="UTC"))
            arr = utc.cast(f.type)
        else:
            arr = pa.array(values, f.type)
        problem = column_problem(f.name, f.type, f.nullable, values, arr)
        if problem is not None:
            raise ValueError(f"{f.name}: {problem}")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)
