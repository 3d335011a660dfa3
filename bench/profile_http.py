"""Where a request's server CPU goes: py-spy attached to a Backbeat server under wrk.

    .venv/bin/python bench/profile_http.py [--what serve|beacons] [--duration 12] [--top 60]

Starts Backbeat under uvicorn on a copy of the seeded catalog (the same one bench_http.py
uses, so run that once first), warms it up with 5 s of ``GET /serve``, then samples every
thread with ``py-spy record --nonblocking --threads -r 250 -f raw`` while wrk (``-t2 -c64``)
sends either decisions or first-impression beacons (links collected from ``/serve`` first,
as in bench_http.py). Prints throughput, server CPU time per request, and the share of samples
in which each function is on the stack (inclusive; a function counts once per sample).
Needs py-spy in the venv (it attaches with ptrace) and wrk on PATH.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
from pathlib import Path

import bench_http
import servers

PY_SPY = Path(sys.executable).with_name("py-spy")


def frame_name(frame: str) -> str:
    """``fn (path/to/module.py:12)`` -> ``fn module.py``; thread labels stay as they are."""
    if " (" not in frame:
        return frame
    fn, rest = frame.split(" (", 1)
    return f"{fn} {rest.rsplit('/', 1)[-1].split(':', 1)[0]}"


def inclusive_shares(raw: str) -> tuple[collections.Counter[str], int]:
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, n_text = line.rpartition(" ")
        n = int(n_text)
        total += n
        for name in {frame_name(f) for f in stack.split(";")}:
            counts[name] += n
    return counts, total


def thread_names(raw: str) -> dict[int, str]:
    """Thread id -> what the thread runs (the function under ``Thread.run``, or the
    main thread's name), from py-spy's raw stacks."""
    names: dict[int, str] = {}
    for line in raw.splitlines():
        frames = line.rpartition(" ")[0].split(";")
        for i, f in enumerate(frames):
            if f.startswith("thread ("):
                tid = int(f[len("thread ("):].split(")", 1)[0])
                if tid in names:
                    break
                rest = [frame_name(x) for x in frames[i + 1:]]
                runs = [j for j, x in enumerate(rest) if x.startswith("Thread.run")]
                after = [rest[j + 1] for j in runs if j + 1 < len(rest)]
                names[tid] = after[0] if after else f.split(": ", 1)[-1]
                break
    return names


def wrk(url: str, script: str, args: list[str], seconds: int) -> dict[str, float]:
    cmd = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s"]
    cmd += [str(bench_http.WRK_DIR / script), url, "--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK_JSON "))
    result: dict[str, float] = json.loads(line.removeprefix("WRK_JSON "))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--what", choices=("serve", "beacons"), default="serve")
    ap.add_argument("--duration", type=int, default=12)
    ap.add_argument("--top", type=int, default=60)
    ap.add_argument(
        "--no-spy", action="store_true", help="measure CPU per request only, without py-spy"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="profile `backbeat serve --workers N` (every process: workers and ingest)",
    )
    ap.add_argument("--raw", type=Path, help="keep py-spy's raw stacks in this file")
    ap.add_argument(
        "--links",
        type=int,
        default=200_000,
        help="impression links to collect for --what beacons; once wrk has sent them all "
        "it wraps around, and the repeats are duplicates, which cost less to count",
    )
    ap.add_argument(
        "--threads", action="store_true", help="also print each thread's CPU per request"
    )
    bench_http.add_seed_cache(ap)
    args = ap.parse_args()

    ws = bench_http.seeded_workspace(args.seed_cache, "backbeat-profile-")
    work, inputs, data = ws.work, ws.inputs, ws.data
    if args.workers > 1:
        srv = servers.start_backbeat("cli", data, work, args.workers)
    else:
        srv = servers.start_backbeat("uvicorn", data, work)
    try:
        serve_args = [str(inputs.placements_tsv), str(inputs.uas_txt)]
        wrk(srv.url, "serve.lua", serve_args, 5)
        script, script_args = "serve.lua", serve_args
        if args.what == "beacons":
            links, *_ = bench_http.collect_links(srv, inputs, args.links, 180)
            tsv = work / "beacons.tsv"
            tsv.write_text("".join(f"{p}\t{ua}\n" for p, ua in links))
            script, script_args = "beacons.lua", [str(tsv), "2"]
        raw = work / "raw.txt"
        spy_cmd = [str(PY_SPY), "record", "--nonblocking", "--threads", "-r", "250"]
        spy_cmd += ["-d", str(args.duration)]
        spy_cmd += ["-f", "raw", "-o", str(raw), "--pid", str(srv.process.pid)]
        if args.workers > 1:
            spy_cmd.append("--subprocesses")
        spy = None
        if not args.no_spy:
            spy = subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu0 = srv.cpu_s()
        threads0 = servers.thread_cpu_s(srv.process.pid)
        main0 = servers.tree_cpu_s(srv.process.pid) - sum(
            servers.tree_cpu_s(c) for c in servers._children(srv.process.pid)
        )
        r = wrk(srv.url, script, script_args, args.duration)
        cpu = srv.cpu_s() - cpu0
        threads1 = servers.thread_cpu_s(srv.process.pid)
        main_cpu = (
            servers.tree_cpu_s(srv.process.pid)
            - sum(servers.tree_cpu_s(c) for c in servers._children(srv.process.pid))
            - main0
        )
        if spy is not None:
            spy.wait()
    finally:
        srv.stop()
    n_req = r["requests"]
    rps = n_req / (r["duration_us"] / 1e6)
    print(f"{args.what}: {rps:,.0f} req/s, {cpu / r['requests'] * 1e6:,.0f} µs server CPU/req")
    if args.workers > 1:
        n = r["requests"]
        print(
            f"  of which the ingest process {main_cpu / n * 1e6:,.0f} µs, "
            f"the {args.workers} workers {(cpu - main_cpu) / n * 1e6:,.0f} µs"
        )
    if args.threads:
        names = thread_names(raw.read_text()) if raw.exists() else {}
        print("  CPU per request by thread (process, thread: what it runs):")
        for (pid, tid), s in servers.thread_cpu_used(threads0, threads1):
            if s > 0:
                label = names.get(tid) or servers.thread_comm(pid, tid)
                print(f"  {s / n_req * 1e6:7.1f} µs  {pid}/{tid}  {label}")
    if args.no_spy:
        shutil.rmtree(work, ignore_errors=True)
        return
    if args.raw is not None:
        shutil.copyfile(raw, args.raw)
    counts, total = inclusive_shares(raw.read_text())
    for name, n in counts.most_common(args.top):
        print(f"{n / total * 100:5.1f}%  {name}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
