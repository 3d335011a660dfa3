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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Generic

from backbeat.store.events.spool import Spool
from backbeat.store.events.spool_format import Codec, T
from backbeat.store.events.spool_reader import producer_name
from backbeat.store.events.writer import WriterStats

log = logging.getLogger(__name__)

DEFAULT_SEAL_MS = 100


class SpoolSink(Generic[T]):
    """Durable, acknowledged hand-off of items to the ingest process (one per worker)."""

    def __init__(
        self,
        root: Path,
        codec: Codec[T],
        *,
        seal_ms: int = DEFAULT_SEAL_MS,
        prefix: str = "w",
    ) -> None:
        if seal_ms < 1:
            raise ValueError("seal_ms must be at least 1")
        self.seal_ms = seal_ms
        self.spool: Spool[T] = Spool(root / producer_name(prefix), codec=codec,
                                     seal_after_ms=seal_ms)
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
