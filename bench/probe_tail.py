"""Where the beacons' half-load tail comes from: latency over time at a fixed arrival rate.

    .venv/bin/python bench/probe_tail.py [--rates 1000,1500] [--seconds 30] [--workers 2]
        [--generator c|python]

Starts ``backbeat serve --workers N`` on a copy of the seeded catalog (run bench_http.py once
first), collects first-impression links from ``/serve``, then sends beacons open-loop at
each rate (openloop.c, or httpload with ``--generator python``; latency from each request's
scheduled time). Besides p50/p99 it prints
every 100 ms window whose slowest beacon took over `--slow-ms`, with the wall-clock time
the run ended, so slow windows can be lined up with what the server did then (a block's
slates being built, a DuckDB checkpoint, a garbage collection). This is how the slates'
prebuild and the young collections it caused were found (docs/benchmarks.md, session 3).

With ``--trace``, :mod:`threadtrace` samples every server thread from outside during each
rate, and each slow window is printed with what the busiest threads did in it and in the
100 ms before it: milliseconds on a CPU, milliseconds waiting for one, and their state at
each sample (R running, S sleeping, D waiting on the disk).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import bench_http
import httpload
import profile_http
import servers
import threadtrace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="1000", help="comma-separated beacons per second")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--links", type=int, default=60_000)
    ap.add_argument("--slow-ms", type=float, default=15.0)
    ap.add_argument(
        "--generator", choices=sorted(bench_http.GENERATORS), default="c",
        help="openloop.c (c) or httpload.open_loop (python)",
    )
    ap.add_argument("--threads", action="store_true", help="print each thread's CPU per beacon")
    ap.add_argument(
        "--spy",
        type=Path,
        help="record every thread with py-spy during each rate into <this>-<rate>.txt "
        "(raw stacks, as profile_http.py --raw keeps them)",
    )
    ap.add_argument(
        "--trace", action="store_true",
        help="sample every server thread from outside (threadtrace.py) and show what ran in "
        "each slow window",
    )
    ap.add_argument("--trace-period-ms", type=float, default=10.0)
    ap.add_argument("--keep-log", type=Path, help="copy the server's log here at the end")
    bench_http.add_seed_cache(ap)
    args = ap.parse_args()
    ws = bench_http.seeded_workspace(args.seed_cache, "backbeat-tail-")
    work, inputs, data = ws.work, ws.inputs, ws.data
    kind = "cli" if args.workers > 1 else "uvicorn"
    srv = servers.start_backbeat(kind, data, work, args.workers)
    try:
        links, *_ = bench_http.collect_links(srv, inputs, args.links, 180)
        used = 0
        for rate in (float(r) for r in args.rates.split(",")):
            n = int(rate * args.seconds * 1.2)
            chunk = links[used : used + n] or links
            used += n

            def make(k: int, chunk: list[tuple[str, str]] = chunk) -> bytes:
                return bench_http.beacon_request(*chunk[k % len(chunk)])

            spy = None
            if args.spy is not None:
                out = args.spy.with_name(f"{args.spy.name}-{rate:.0f}.txt")
                spy = subprocess.Popen(
                    [str(profile_http.PY_SPY), "record", "--nonblocking", "--threads", "-r",
                     "250", "-d", str(int(args.seconds)), "-f", "raw", "-o", str(out),
                     "--pid", str(srv.process.pid), "--subprocesses"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            # A line as the phase starts, so a profiler or perf can be attached to it.
            print(f"rate {rate:,.0f}/s: starting at {time.strftime('%H:%M:%S')}, server pid "
                  f"{srv.process.pid}", flush=True)
            tracer = None
            if args.trace:
                trace_out = work / f"trace-{rate:.0f}-{used}.json"
                tracer = subprocess.Popen(
                    [sys.executable, str(Path(__file__).with_name("threadtrace.py")),
                     "--pid", str(srv.process.pid), "--period-ms", str(args.trace_period_ms),
                     "--out", str(trace_out)],
                )
                time.sleep(1.0)  # its first scan of the threads
            cpu0 = srv.cpu_s()
            threads0 = servers.thread_cpu_s(srv.process.pid)
            t_start = time.monotonic()
            run = httpload.open_loop_native if args.generator == "c" else httpload.open_loop
            res = run(
                "127.0.0.1", srv.port, make, rate=rate, duration_s=args.seconds, connections=64
            )
            cpu = (srv.cpu_s() - cpu0) / max(1, res.completed) * 1e6
            threads1 = servers.thread_cpu_s(srv.process.pid)
            if spy is not None:
                spy.wait()
            trace = None
            if tracer is not None:
                tracer.terminate()
                tracer.wait()
                trace = json.loads(trace_out.read_text())
                print(f"  trace: {len(trace['samples'])} samples of "
                      f"{len(trace['threads'])} threads, the tracer used "
                      f"{trace['self_cpu_share'] * 100:.1f}% of a core")
            print(
                f"rate {rate:,.0f}/s: achieved {res.achieved_rate:,.0f}/s, "
                f"p50 {res.percentile(50) / 1000:.1f} ms, p99 {res.percentile(99) / 1000:.1f} ms, "
                f"server CPU {cpu:,.0f} µs/beacon, generator ({args.generator}) CPU "
                f"{res.cpu_s / max(1, res.completed) * 1e6:,.0f} µs/beacon, "
                f"statuses {dict(res.statuses)}"
            )
            slow_windows = res.slow_windows(args.slow_ms)
            slow = [f"{k / 10:.1f}s:{worst:.0f}ms" for k, worst in slow_windows]
            if args.threads:
                shown = [  # every thread that used at least 1 µs per beacon
                    (key, s) for key, s in servers.thread_cpu_used(threads0, threads1)
                    if s / max(1, res.completed) * 1e6 >= 1
                ]
                print("  CPU per beacon by thread: " + ", ".join(
                    f"{'ingest' if pid == srv.process.pid else 'worker'} {pid}/{tid}"
                    f" ({'main' if pid == tid else servers.thread_comm(pid, tid)}) "
                    f"{s / max(1, res.completed) * 1e6:.0f} µs"
                    for (pid, tid), s in shown
                ))
            print(f"  ended {time.strftime('%H:%M:%S')}; windows over {args.slow_ms:g} ms:")
            print("  " + " ".join(slow))
            if trace is not None:
                # Window k holds the k-th hundred milliseconds of scheduled sends (open loop),
                # so it started about k/10 s after t_start.
                for k, worst in slow_windows:
                    t0 = t_start + k / 10
                    for label, a, b in (("before", t0 - 0.1, t0), ("during", t0, t0 + 0.1)):
                        busy = [w for w in threadtrace.window(trace, a, b)
                                if w.run_ms + w.wait_ms >= 2][:6]
                        print(f"  {k / 10:.1f}s ({worst:.0f} ms) {label}: " + "; ".join(
                            f"{'ingest' if w.pid == srv.process.pid else 'worker'} {w.tid} "
                            f"{w.comm} run {w.run_ms:.0f} wait {w.wait_ms:.0f} {w.states}"
                            for w in busy
                        ))
    finally:
        srv.stop()
        if args.keep_log is not None:
            shutil.copyfile(srv.log_path, args.keep_log)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
