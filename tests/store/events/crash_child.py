"""Child process of test_crash: an EventWriter under load from several producer threads.

Run as ``python -m tests.store.events.crash_child DATA_DIR THREADS``. Each producer submits
batches and, only after `submit` returned (the acknowledgement), appends the batch's ids to
its own ``acked-<n>.txt`` and fsyncs that file. The parent SIGKILLs the process mid-stream.
"""

from __future__ import annotations

import os
import random
import sys
import threading
from datetime import timedelta
from pathlib import Path

from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.spool import Spool
from backbeat.store.events.writer import EventWriter
from tests.store.events.builders import BASE_TS, event_id, make_event

# Small segments and frequent flushes, so rotation and checkpoint deletion happen under load.
SEGMENT_BYTES = 64 * 1024
FLUSH_ROWS = 1500
FLUSH_INTERVAL_MS = 300


def produce(writer: EventWriter, data_dir: Path, n: int) -> None:
    rng = random.Random(f"{os.getpid()}-{n}")  # fresh ids in every round
    template = make_event()
    with (data_dir / f"acked-{n}.txt").open("a") as fh:
        i = 0
        while True:
            batch = []
            for _ in range(rng.randint(1, 25)):
                ts = BASE_TS + timedelta(milliseconds=i)
                i += 1
                batch.append(
                    template.__class__(
                        **{
                            **{f: getattr(template, f) for f in template.__slots__},
                            "id": event_id(int(ts.timestamp() * 1000), rng),
                            "ts": ts,
                            "campaign_id": n,
                        }
                    )
                )
            writer.submit(batch)
            fh.write("".join(f"{e.id}\n" for e in batch))
            fh.flush()
            os.fsync(fh.fileno())


def main() -> None:
    data_dir = Path(sys.argv[1])
    threads = int(sys.argv[2])
    store = DuckDBEventStore(data_dir / "events.duckdb")
    writer = EventWriter(
        Spool(data_dir / "spool", segment_bytes=SEGMENT_BYTES),
        store,
        FLUSH_ROWS,
        FLUSH_INTERVAL_MS,
    )
    writer.start()
    producers = [
        threading.Thread(target=produce, args=(writer, data_dir, n), daemon=True)
        for n in range(threads)
    ]
    for p in producers:
        p.start()
    print("ready", flush=True)
    for p in producers:
        p.join()


if __name__ == "__main__":
    main()
