"""Child process of test_spool_reader: one producer appending events to its own spool.

Run as ``python -m tests.store.events.spool_producer_child ROOT ACKS THREADS APPENDS``.
The producer opens ``Spool(ROOT / producer_name())`` with small segments and
``seal_after_ms``, and a timer thread calls ``seal_if_older`` as a serving worker would.
Each of THREADS threads appends APPENDS batches (0: until killed) of 1-6 events whose
``decision_id`` is ``<producer>:<thread>:<seq>``; only after `append` returned (the
acknowledgement) it writes the batch's ids to ``ACKS/<producer>-<thread>.txt``. The child
prints ``ready <producer>`` once the spool is open, and closes it when every thread is done.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import threading
from datetime import timedelta
from pathlib import Path

from backbeat.domain.events import Event
from backbeat.store.events.spool import Spool
from backbeat.store.events.spool_reader import producer_name
from tests.store.events.builders import BASE_TS, event_id, make_event

SEGMENT_BYTES = 32 * 1024
SEAL_AFTER_MS = 30


def produce(spool: Spool[Event], name: str, acks: Path, thread: int, appends: int) -> None:
    rng = random.Random(f"{name}-{thread}")
    template = make_event()
    seq = 0
    with (acks / f"{name}-{thread}.txt").open("a") as fh:
        n = 0
        while appends == 0 or n < appends:
            n += 1
            batch = []
            for _ in range(rng.randint(1, 6)):
                ts = BASE_TS + timedelta(milliseconds=seq)
                batch.append(
                    dataclasses.replace(
                        template,
                        id=event_id(int(ts.timestamp() * 1000), rng),
                        ts=ts,
                        decision_id=f"{name}:{thread}:{seq}",
                    )
                )
                seq += 1
            spool.append(batch)
            fh.write("".join(f"{e.id}\n" for e in batch))
            fh.flush()  # in the kernel: survives SIGKILL of this process


def main() -> None:
    root, acks = Path(sys.argv[1]), Path(sys.argv[2])
    threads, appends = int(sys.argv[3]), int(sys.argv[4])
    name = producer_name()
    spool = Spool(root / name, segment_bytes=SEGMENT_BYTES, seal_after_ms=SEAL_AFTER_MS)
    done = threading.Event()

    def sealer() -> None:
        while not done.wait(SEAL_AFTER_MS / 1000):
            spool.seal_if_older()

    workers = [
        threading.Thread(target=produce, args=(spool, name, acks, t, appends))
        for t in range(threads)
    ]
    timer = threading.Thread(target=sealer)
    timer.start()
    for w in workers:
        w.start()
    print(f"ready {name}", flush=True)
    for w in workers:
        w.join()
    done.set()
    timer.join()
    spool.close()


if __name__ == "__main__":
    main()
