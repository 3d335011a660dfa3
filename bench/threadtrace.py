"""A light, external per-thread CPU trace of a process tree: what ran in a slow window.

    .venv/bin/python bench/threadtrace.py --pid PID [--period-ms 10] --out trace.json

Samples every thread of PID and of its children every `--period-ms` from the outside:
``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds on a CPU, nanoseconds waiting on a run
queue) and the thread's state letter from ``stat`` (R running, S sleeping, D waiting on the
disk). It runs until SIGTERM or SIGINT, then writes the samples and its own CPU share as
JSON. The files are kept open and re-read with ``pread``. With the 53 threads of ``backbeat
serve --workers 2`` it used 7.3–12.7% of one core at 10 ms and 4.6% at 20 ms on a slow
host (``probe_tail.py`` prints it). Unlike an in-process sleeper (session 8's probe, which
woke every process 1,000 times a second and took each one's GIL) it never runs inside the
server.

:func:`window` turns a trace into what each thread did between two ``time.monotonic()``
instants (CLOCK_MONOTONIC, the same clock in every process), which ``probe_tail.py
--trace`` prints for each slow window.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servers import process_tree, thread_comm  # bench/ is on sys.path when run as a script

RESCAN_S = 0.5  # how often new threads and processes are looked for


class _Thread:
    def __init__(self, pid: int, tid: int) -> None:
        self.pid, self.tid = pid, tid
        base = f"/proc/{pid}/task/{tid}"
        self.sched = os.open(f"{base}/schedstat", os.O_RDONLY)
        self.stat = os.open(f"{base}/stat", os.O_RDONLY)

    def read(self) -> tuple[int, int, str]:
        run, wait, _ = os.pread(self.sched, 128, 0).split()
        stat = os.pread(self.stat, 512, 0)
        state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3].decode()
        return int(run), int(wait), state

    def close(self) -> None:
        os.close(self.sched)
        os.close(self.stat)


def record(pid: int, period_s: float, stop: list[bool]) -> dict[str, Any]:
    """Sample until `stop[0]` is set. Returns {"threads": {tid: [pid, comm]},
    "samples": [[t, [[tid, run_ns, wait_ns, state], ...]], ...]}."""
    threads: dict[int, _Thread] = {}
    names: dict[int, list[Any]] = {}
    samples: list[list[Any]] = []
    next_scan = 0.0
    while not stop[0]:
        now = time.monotonic()
        if now >= next_scan:
            for p in process_tree(pid):
                try:
                    tids = [int(t) for t in os.listdir(f"/proc/{p}/task")]
                except OSError:
                    continue
                for tid in tids:
                    if tid not in threads:
                        try:
                            threads[tid] = _Thread(p, tid)
                        except OSError:
                            continue
                        names[tid] = [p, thread_comm(p, tid)]
            next_scan = now + RESCAN_S
        row = []
        for tid, th in list(threads.items()):
            try:
                run, wait, state = th.read()
            except (OSError, ValueError):
                th.close()
                del threads[tid]
                continue
            row.append([tid, run, wait, state])
        samples.append([now, row])
        time.sleep(max(0.0, now + period_s - time.monotonic()))
    for th in threads.values():
        th.close()
    return {"threads": {str(k): v for k, v in names.items()}, "samples": samples}


@dataclass
class ThreadWindow:
    pid: int
    tid: int
    comm: str
    run_ms: float  # on a CPU during the window
    wait_ms: float  # runnable but waiting for a CPU
    states: str  # the state letter at each sample in the window, e.g. "RRSSD"


def window(trace: dict[str, Any], t0: float, t1: float) -> list[ThreadWindow]:
    """What each thread did between monotonic instants t0 and t1 (the samples just before
    t0 and just after t1 bound it), busiest first."""
    samples = trace["samples"]
    first = max((k for k, s in enumerate(samples) if s[0] <= t0), default=0)
    last = min((k for k, s in enumerate(samples) if s[0] >= t1), default=len(samples) - 1)
    if last <= first:
        return []
    before = {r[0]: r for r in samples[first][1]}
    after = {r[0]: r for r in samples[last][1]}
    states: dict[int, str] = {}
    for _, row in samples[first + 1 : last + 1]:
        for r in row:
            states[r[0]] = states.get(r[0], "") + r[3]
    out = []
    for tid, a in after.items():
        b = before.get(tid, [tid, 0, 0, "?"])
        pid, comm = trace["threads"].get(str(tid), [0, "?"])
        out.append(ThreadWindow(pid, tid, comm, (a[1] - b[1]) / 1e6, (a[2] - b[2]) / 1e6,
                                states.get(tid, "")))
    out.sort(key=lambda w: w.run_ms + w.wait_ms, reverse=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--period-ms", type=float, default=10.0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    stop = [False]

    def _stop(*_: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    t0 = time.monotonic()
    trace = record(args.pid, args.period_ms / 1000, stop)
    use = resource.getrusage(resource.RUSAGE_SELF)
    # its own cost, to show it stays small: CPU seconds per second traced
    trace["self_cpu_share"] = (use.ru_utime + use.ru_stime) / max(1e-9, time.monotonic() - t0)
    args.out.write_text(json.dumps(trace))


if __name__ == "__main__":
    main()
