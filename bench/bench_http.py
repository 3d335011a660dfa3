"""HTTP benchmark: ad decisions and impression beacons per second through a real server.

    .venv/bin/python bench/bench_http.py [--server uvicorn|granian|both] [--runs 3]
        [--generator c|python] [--duration 15] [--connections 64] [--campaigns 10000]
        [--json out.json]

Per run, on this machine and against 127.0.0.1 only:

1. Baselines: nginx serving a static 43-byte GIF (one worker, no access log) and a bare
   Starlette endpoint answering 204 under the same ASGI server as Backbeat (with
   ``--server cli --workers N``: under uvicorn and under granian, N workers each).
2. Backbeat on a data dir seeded by seed_network.py (10,000 active campaigns, 200 sites x
   3 placements; the seeded catalog is cached and copied, so every run starts clean):
   a. warm-up, then decisions at peak: wrk, ``GET /serve?p=<placement>&u=<its page>``
      with varied browser User-Agents and a CDN country header;
   After each peak the benchmark waits for the server to settle (its CPU use below a
   tenth of a core): the ingest process may still be counting and storing what the
   workers acknowledged, and a half-load phase should meet a server in its steady state,
   not one recovering from overload. How long that took ("settled after") and the server
   CPU per request including it are reported: a peak the ingest process cannot keep up
   with shows there, not in the peak's own figures.
   b. decisions at half of that peak: an open-loop generator holding a fixed arrival
      rate, latency counted from each request's scheduled time (``--generator c``, the
      default: openloop.c, whose own latency floor against nginx is tighter than that of
      ``--generator python``, httpload.open_loop; both print their own CPU per request);
   c. impression links collected from ``/serve`` (three slots per page view), each with
      the User-Agent its ad was served to;
   d. impression beacons at peak (wrk walks the links, each one a first impression, sent
      as the ad tag sends them: an empty POST with ``?u=<page>``), then at half load;
   e. the server is stopped (SIGTERM: it flushes), and the impressions in the event store
      are checked against the beacons acknowledged with 204.

Server memory is VmRSS of the server's process tree, sampled during every phase (peak).
The machine has 2 shared cores: the load generator runs on them too. Figures are medians
over runs; every run's figures go to --json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import duckdb
import httpload
import orjson
import seed_network
import servers

WRK_DIR = servers.BENCH_DIR / "wrk"
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "BR", "MX", "SE", "NL", "JP", "ES")
TARGETS = {"decisions": 8_000, "beacons": 12_000}
P99_TARGET_MS = 20.0
GENERATORS = {"c": "openloop.c", "python": "httpload.open_loop"}


# inputs ----------------------------------------------------------------------------------
def user_agents(n: int, seed: int = 11) -> list[str]:
    """`n` distinct, current-looking browser User-Agents (desktop and mobile), so the run
    has many visitors as real traffic does, not one visitor hitting the rate limit."""
    rng = random.Random(seed)
    families: list[Callable[[], str]] = [
        lambda: (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
            f"Gecko) Chrome/{rng.randint(118, 127)}.0.{rng.randint(5000, 6999)}."
            f"{rng.randint(0, 250)} Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_{rng.randint(0, 6)} like Mac OS X) "
            f"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{rng.randint(0, 6)} "
            f"Mobile/15E{rng.randint(100, 999)} Safari/604.1"
        ),
        lambda: (
            f"Mozilla/5.0 (Linux; Android {rng.randint(10, 14)}; Pixel {rng.randint(4, 8)}) "
            f"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{rng.randint(118, 127)}.0."
            f"{rng.randint(5000, 6999)}.{rng.randint(0, 250)} Mobile Safari/537.36"
        ),
        lambda: (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
            f"like Gecko) Version/17.{rng.randint(0, 6)}.{rng.randint(1, 99)} Safari/605.1.15"
        ),
        lambda: (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{rng.randint(115, 128)}.0) "
            f"Gecko/20100101 Firefox/{rng.randint(115, 128)}.{rng.randint(0, 99)}"
        ),
    ]
    weights = [45, 20, 20, 8, 7]
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen[rng.choices(families, weights)[0]()] = None
    return list(seen)


def seeded_dir(args: argparse.Namespace) -> Path:
    """A seeded catalog, built once per shape and reused (seeding takes about a minute)."""
    root = Path(args.seed_cache)
    key = f"seed-{args.campaigns}c-{args.sites}x{args.placements_per_site}"
    path = root / key
    if not (path / "catalog.db").exists() or not (path / seed_network.PLACEMENTS_FILE).exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"seeding {args.campaigns} campaigns into {path} (once) ...", flush=True)
        done = seed_network.seed(
            path,
            campaigns=args.campaigns,
            sites=args.sites,
            placements_per_site=args.placements_per_site,
        )
        print(f"  seeded in {done.seconds:.0f} s", flush=True)
    return path


def add_seed_cache(ap: argparse.ArgumentParser) -> None:
    """The --seed-cache option of the scripts that reuse bench_http.py's seeded catalog."""
    ap.add_argument(
        "--seed-cache", type=Path, default=Path(tempfile.gettempdir()) / "backbeat-bench-http"
    )


def cached_seed(seed_cache: Path) -> Path:
    """The 10,000-campaign catalog bench_http.py seeded; exits when there is none yet."""
    seed = seed_cache / "seed-10000c-200x3"
    if not (seed / "catalog.db").exists():
        raise SystemExit(f"no seeded catalog in {seed}: run bench/bench_http.py once first")
    return seed


@dataclass(frozen=True)
class Inputs:
    placements: list[tuple[int, str]]  # (placement id, page URL)
    uas: list[str]
    placements_tsv: Path
    uas_txt: Path


@dataclass(frozen=True)
class Workspace:
    seed: Path  # the cached seeded catalog
    work: Path  # a fresh temporary directory: inputs, logs
    inputs: Inputs
    data: Path  # work/data, holding a copy of the seeded catalog


def seeded_workspace(seed_cache: Path, prefix: str, n_uas: int = 10_000) -> Workspace:
    """For the scripts that reuse the seeded catalog: a temporary directory with the load
    inputs and a data directory holding a fresh copy of the catalog."""
    seed = cached_seed(seed_cache)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    inputs = write_inputs(seed, work, n_uas)
    _copy_seed(seed, work / "data")
    return Workspace(seed, work, inputs, work / "data")


def write_inputs(seed_dir: Path, work: Path, n_uas: int) -> Inputs:
    listing = json.loads((seed_dir / seed_network.PLACEMENTS_FILE).read_text())
    placements = [(int(p["id"]), str(p["url"])) for p in listing]
    uas = user_agents(n_uas)
    tsv = work / "placements.tsv"
    tsv.write_text("".join(f"{pid}\t{quote(url, safe='')}\n" for pid, url in placements))
    txt = work / "uas.txt"
    txt.write_text("".join(ua + "\n" for ua in uas))
    return Inputs(placements, uas, tsv, txt)


# wrk -------------------------------------------------------------------------------------
@dataclass
class Measure:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    non_2xx: int = 0
    errors: int = 0
    exhausted: int = 0
    rss_mb: float = 0.0
    cpu_us: float = math.nan  # server CPU time (all threads) per completed request
    command: str = ""
    extra: dict[str, float] = field(default_factory=dict)
    # open-loop phases: (second, slowest ms) of each 100 ms window over 20 ms
    windows_over_20ms: list[tuple[float, float]] = field(default_factory=list)


def run_wrk(
    url: str, script: str, script_args: list[str], args: argparse.Namespace, duration: float
) -> Measure:
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{duration:g}s"]
    cmd += ["--latency", "-s", str(WRK_DIR / script), url, "--", *script_args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    r = json.loads(line.removeprefix("WRK_JSON "))
    return Measure(
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        requests=r["requests"],
        non_2xx=r["status_errors"],
        errors=r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"],
        exhausted=r["exhausted"],
        command=" ".join(cmd).replace(str(servers.REPO) + "/", ""),
    )


@contextmanager
def rss_sampler(server: servers.Server, every_s: float = 0.25) -> Iterator[list[int]]:
    """Sample the server's RSS while the block runs; yields the list of samples (KiB)."""
    samples: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            samples.append(server.rss_kb())

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield samples
    finally:
        stop.set()
        t.join()
        samples.append(server.rss_kb())


def settle(
    server: servers.Server, *, quiet_cores: float = 0.1, window_s: float = 0.5,
    limit_s: float = 120.0,
) -> tuple[float, float]:
    """Wait until the server is quiet: its CPU use over `window_s` below `quiet_cores`.
    Work a phase left behind (the ingest process counting and storing what the workers
    acknowledged faster than it kept up) is done by then. Returns the seconds waited and
    the server CPU seconds used meanwhile (the quiet window that ends the wait is not
    counted in either)."""
    t0 = time.perf_counter()
    cpu0 = last = server.cpu_s()
    while time.perf_counter() - t0 < limit_s:
        time.sleep(window_s)
        now = server.cpu_s()
        if now - last < quiet_cores * window_s:
            return max(0.0, time.perf_counter() - t0 - window_s), last - cpu0
        last = now
    return time.perf_counter() - t0, last - cpu0


def measured_wrk(
    server: servers.Server, script: str, script_args: list[str], args: argparse.Namespace,
    *, drain: bool = False,
) -> Measure:
    """wrk at peak. With `drain`, then wait for the server to settle (see :func:`settle`)
    and record how long it took and the server CPU per request including that drain."""
    cpu0 = server.cpu_s()
    with rss_sampler(server) as rss:
        m = run_wrk(server.url, script, script_args, args, args.duration)
    m.rss_mb = max(rss) / 1024
    cpu = server.cpu_s() - cpu0
    m.cpu_us = cpu / max(1, m.requests) * 1e6
    if drain:
        drain_s, drain_cpu = settle(server)
        m.extra["drain_s"] = drain_s
        m.extra["cpu_us_drained"] = (cpu + drain_cpu) / max(1, m.requests) * 1e6
    return m


def measured_open_loop(
    server: servers.Server,
    make: Callable[[int], bytes],
    rate: float,
    duration_s: float,
    args: argparse.Namespace,
    label: str,
) -> tuple[Measure, httpload.OpenLoopResult]:
    cpu0 = server.cpu_s()
    run = httpload.open_loop_native if args.generator == "c" else httpload.open_loop
    with rss_sampler(server) as rss:
        res = run(
            "127.0.0.1",
            server.port,
            make,
            rate=rate,
            duration_s=duration_s,
            connections=args.connections,
        )
    ok = sum(n for status, n in res.statuses.items() if 200 <= status < 300)
    m = Measure(
        rps=res.achieved_rate,
        p50_ms=res.percentile(50) / 1000,
        p99_ms=res.percentile(99) / 1000,
        requests=res.completed,
        non_2xx=res.completed - ok,
        errors=res.failures,
        rss_mb=max(rss) / 1024,
        cpu_us=(server.cpu_s() - cpu0) / max(1, res.completed) * 1e6,
        command=f"{GENERATORS[args.generator]}(rate={rate:.0f}/s, {duration_s:g} s, "
        f"{args.connections} connections) {label}",
        extra={
            "target_rate": rate,
            "generator_cpu_us": res.cpu_s / max(1, res.completed) * 1e6,
            "service_p50_ms": res.percentile(50, service=True) / 1000,
            "service_p99_ms": res.percentile(99, service=True) / 1000,
        },
        windows_over_20ms=[(k / 10, round(w, 1)) for k, w in res.slow_windows(20)],
    )
    slow = " ".join(f"{t:.1f}s:{w:.0f}ms" for t, w in m.windows_over_20ms)
    print(
        f"  {label}: {m.rps:,.0f}/s of {rate:,.0f}/s, p99 {m.p99_ms:.1f} ms, server CPU "
        f"{m.cpu_us:,.0f} µs/req, generator ({args.generator}) CPU "
        f"{m.extra['generator_cpu_us']:,.0f} µs/req; 100 ms windows over 20 ms: "
        f"{slow or 'none'}",
        flush=True,
    )
    return m, res


# Backbeat phases ---------------------------------------------------------------------------
def serve_request(inputs: Inputs, rng: random.Random) -> bytes:
    pid, url = rng.choice(inputs.placements)
    return httpload.http_request(
        "GET",
        f"/serve?p={pid}&u={quote(url, safe='')}",
        {
            "User-Agent": rng.choice(inputs.uas),
            "CF-IPCountry": rng.choice(COUNTRIES),
            "Accept": "*/*",
        },
    )


def collect_links(
    server: servers.Server, inputs: Inputs, want: int, limit_s: float
) -> tuple[list[tuple[str, str]], int, int, float]:
    """Impression links from /serve (a page view asks for all slots of its site), each with
    the UA its ad was served to. Returns (links, /serve requests, decisions, seconds)."""
    by_site: dict[str, list[int]] = {}
    page_of: dict[str, str] = {}
    for pid, url in inputs.placements:
        host = urlsplit(url).netloc
        by_site.setdefault(host, []).append(pid)
        page_of.setdefault(host, url)
    sites = sorted(by_site)
    rng = random.Random(5)
    links: list[tuple[str, str]] = []
    decisions = requests = 0
    t0 = time.perf_counter()
    while len(links) < want and time.perf_counter() - t0 < limit_s:
        batch = []
        for _ in range(5_000):
            host = rng.choice(sites)
            ua = rng.choice(inputs.uas)
            ids = ",".join(map(str, by_site[host]))
            page = quote(page_of[host], safe="")
            headers = {"User-Agent": ua, "CF-IPCountry": rng.choice(COUNTRIES), "Accept": "*/*"}
            request = httpload.http_request("GET", f"/serve?p={ids}&u={page}", headers)
            batch.append((request, ua, page))
        answers = httpload.fetch_all("127.0.0.1", server.port, [b[0] for b in batch], 16)
        requests += len(batch)
        for (_, ua, page), (status, body) in zip(batch, answers, strict=True):
            if status != 200:
                continue
            doc = orjson.loads(body)
            decisions += len(doc["ads"]) + len(doc["nofill"])
            # the tag adds ?u=<page> to the beacon, so the domain check runs
            links.extend((f"{urlsplit(ad['imp']).path}?u={page}", ua) for ad in doc["ads"])
    return links[:want], requests, decisions, time.perf_counter() - t0


def beacon_request(path: str, ua: str) -> bytes:
    return httpload.http_request("POST", path, {"User-Agent": ua, "Accept": "*/*"})


def stored_impressions(data_dir: Path) -> dict[str, int]:
    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        row = con.execute(
            "SELECT count(*), count(DISTINCT decision_id), count(*) FILTER (WHERE valid)"
            " FROM events WHERE type = 'impression'"
        ).fetchone()
        decisions = con.execute("SELECT count(*) FROM events WHERE type = 'decision'").fetchone()
    finally:
        con.close()
    assert row is not None and decisions is not None
    return {
        "impressions": int(row[0]),
        "distinct_decisions": int(row[1]),
        "valid": int(row[2]),
        "decision_events": int(decisions[0]),
    }


def _copy_seed(seed_dir: Path, data: Path) -> None:
    data.mkdir(parents=True)
    shutil.copyfile(seed_dir / "catalog.db", data / "catalog.db")


def measure_backbeat(
    asgi: str, seed_dir: Path, inputs: Inputs, args: argparse.Namespace, work: Path, run: int
) -> tuple[dict[str, Measure], dict[str, int], str]:
    data = work / f"run{run}-{asgi}"
    _copy_seed(seed_dir, data)
    srv = servers.start_backbeat(asgi, data, work, args.workers)
    rows: dict[str, Measure] = {}
    serve_args = [str(inputs.placements_tsv), str(inputs.uas_txt)]
    try:
        run_wrk(srv.url, "serve.lua", serve_args, args, args.warmup)
        rows["decisions peak"] = peak = measured_wrk(
            srv, "serve.lua", serve_args, args, drain=True
        )
        print(
            f"  {asgi}: decisions peak {peak.rps:,.0f}/s p99 {peak.p99_ms:.1f} ms, "
            f"settled {peak.extra['drain_s']:.1f} s later",
            flush=True,
        )

        rate = peak.rps / 2
        rng = random.Random(run)
        reqs = [serve_request(inputs, rng) for _ in range(int(rate * args.half_duration) + 1)]
        rows["decisions @50% of peak"], _ = measured_open_loop(
            srv, reqs.__getitem__, rate, args.half_duration, args, "/serve"
        )

        cpu0 = srv.cpu_s()
        links, n_req, n_dec, secs = collect_links(srv, inputs, args.links, args.collect_limit)
        collect_cpu = srv.cpu_s() - cpu0
        rows["/serve with 3 slots per page view (collecting links)"] = Measure(
            rps=n_req / secs,
            p50_ms=math.nan,
            p99_ms=math.nan,
            requests=len(links),
            rss_mb=srv.rss_kb() / 1024,
            cpu_us=collect_cpu / max(1, n_req) * 1e6,
            command="httpload.fetch_all(16 connections), /serve?p=<3 placements of a site>",
            extra={"decisions_per_s": n_dec / secs},
        )
        reserve = len(links) // 4
        peak_links, tail = links[: len(links) - reserve], links[len(links) - reserve :]
        tsv = work / f"beacons-run{run}-{asgi}.tsv"
        tsv.write_text("".join(f"{p}\t{ua}\n" for p, ua in peak_links))
        print(f"  {asgi}: {len(links):,} impression links collected", flush=True)

        rows["beacons peak"] = bpeak = measured_wrk(
            srv, "beacons.lua", [str(tsv), str(args.wrk_threads)], args, drain=True
        )
        print(
            f"  {asgi}: beacons peak {bpeak.rps:,.0f}/s p99 {bpeak.p99_ms:.1f} ms, "
            f"settled {bpeak.extra['drain_s']:.1f} s later",
            flush=True,
        )
        brate = bpeak.rps / 2
        bdur = min(args.half_duration, len(tail) / brate)
        breqs = [beacon_request(p, ua) for p, ua in tail]
        rows["beacons @50% of peak"], bres = measured_open_loop(
            srv, breqs.__getitem__, brate, bdur, args, "/i/{token}"
        )
        rows["beacons @50% of peak"].extra["duration_s"] = bdur
    finally:
        code = srv.stop()
    if code not in (0, -signal.SIGTERM):
        raise RuntimeError(f"Backbeat exited with {code} on SIGTERM:\n{srv.log_path.read_text()}")
    stored = stored_impressions(data)
    bp, bh = rows["beacons peak"], rows["beacons @50% of peak"]
    stored["acknowledged"] = (bp.requests - bp.non_2xx) + (bh.requests - bh.non_2xx)
    stored["cut_off_in_flight_max"] = args.connections + bres.failures
    stored["links_exhausted"] = bp.exhausted
    shutil.rmtree(data, ignore_errors=True)  # the event store grows by ~100 MB per run
    return rows, stored, srv.shell_command()


def baseline_servers(asgi: str, workers: int) -> list[str]:
    """The ASGI servers the bare endpoint runs under beside Backbeat under `asgi`: the
    same one, and for `backbeat serve --workers N` (granian workers) uvicorn as well."""
    if asgi != "cli":
        return [asgi]
    return ["uvicorn", "granian"] if workers > 1 else ["uvicorn"]  # one process: uvicorn


def measure_baselines(asgi: str, args: argparse.Namespace, work: Path) -> dict[str, Measure]:
    bare = servers.start_bare(asgi, work, args.workers)
    try:
        m = measured_wrk(bare, "static.lua", ["/i/bare"], args)
    finally:
        bare.stop()
    print(f"  bare Starlette/{asgi}: {m.rps:,.0f}/s", flush=True)
    label = "bare Starlette 204" if args.workers == 1 else f"bare Starlette 204 x{args.workers}"
    return {label: m}


# reporting ---------------------------------------------------------------------------------
def _fmt(v: float, spec: str) -> str:
    return "–" if math.isnan(v) else format(v, spec)


def median_table(runs: list[dict[tuple[str, str], Measure]]) -> list[tuple[str, str, Measure]]:
    keys: list[tuple[str, str]] = []
    for r in runs:
        keys.extend(k for k in r if k not in keys)
    out = []
    for key in keys:
        ms = [r[key] for r in runs if key in r]

        def med(get: Callable[[Measure], float], ms: list[Measure] = ms) -> float:
            vals = [v for v in map(get, ms) if not math.isnan(v)]
            return statistics.median(vals) if vals else math.nan

        out.append(
            (
                key[0],
                key[1],
                Measure(
                    rps=med(lambda m: m.rps),
                    p50_ms=med(lambda m: m.p50_ms),
                    p99_ms=med(lambda m: m.p99_ms),
                    rss_mb=med(lambda m: m.rss_mb),
                    cpu_us=med(lambda m: m.cpu_us),
                    command=ms[0].command,
                    extra={
                        "drain_s": med(lambda m: m.extra.get("drain_s", math.nan)),
                        "cpu_us_drained": med(lambda m: m.extra.get("cpu_us_drained", math.nan)),
                        "runs": len(ms),
                        "min_rps": min(m.rps for m in ms),
                        "max_rps": max(m.rps for m in ms),
                    },
                ),
            )
        )
    return out


def target_of(bench: str) -> str:
    if bench == "decisions peak":
        return f"≥ {TARGETS['decisions']:,}/s"
    if bench == "beacons peak":
        return f"≥ {TARGETS['beacons']:,}/s"
    if "@50%" in bench:
        return f"p99 < {P99_TARGET_MS:g} ms"
    return ""


def markdown(rows: list[tuple[str, str, Measure]]) -> str:
    lines = [
        "| benchmark | server | req/s (median) | range over runs | p50 ms | p99 ms | "
        "server CPU µs/req | settled after s | CPU µs/req with the drain | server RSS MB | "
        "target |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for bench, server, m in rows:
        rng = f"{m.extra['min_rps']:,.0f}–{m.extra['max_rps']:,.0f}" if m.extra["runs"] > 1 else ""
        lines.append(
            f"| {bench} | {server} | {m.rps:,.0f} | {rng} | {_fmt(m.p50_ms, '.2f')} | "
            f"{_fmt(m.p99_ms, '.2f')} | {_fmt(m.cpu_us, ',.0f')} | "
            f"{_fmt(m.extra['drain_s'], '.1f')} | {_fmt(m.extra['cpu_us_drained'], ',.0f')} | "
            f"{_fmt(m.rss_mb, ',.0f')} | "
            f"{target_of(bench)} |"
        )
    return "\n".join(lines)


def revision() -> str:
    """The commit measured: git's, or REVISION beside bench/ in an exported snapshot."""
    try:
        out = subprocess.run(
            ["git", "-C", str(servers.REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(servers.REPO), "status", "--porcelain", "backbeat"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out.stdout.strip() + (" (backbeat/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        path = servers.REPO / "REVISION"
        return path.read_text().strip() if path.exists() else "unknown"


def machine_notes() -> str:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"load average before the run {load[0]:.2f}, revision {revision()}"
    )


# main --------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--server",
        choices=["uvicorn", "granian", "cli", "both"],
        default="uvicorn",
        help="ASGI server for Backbeat and the bare baseline (cli = `backbeat "
        "serve` as shipped; both = uvicorn and granian)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="serving processes: Backbeat as `backbeat serve --workers N` (needs --server "
        "cli; its workers are granian's), the bare baseline as `uvicorn --workers N` and "
        "`granian --workers N`",
    )
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--duration", type=float, default=15.0, help="seconds per wrk run")
    ap.add_argument("--half-duration", type=float, default=10.0, help="seconds at half load")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--links", type=int, default=150_000, help="impression links to collect")
    ap.add_argument("--collect-limit", type=float, default=180.0, help="seconds, at most")
    ap.add_argument("--campaigns", type=int, default=10_000)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--placements-per-site", type=int, default=3)
    ap.add_argument("--user-agents", type=int, default=10_000)
    ap.add_argument(
        "--seed-cache", default=str(Path(tempfile.gettempdir()) / "backbeat-bench-http")
    )
    ap.add_argument(
        "--generator",
        choices=sorted(GENERATORS),
        default="c",
        help="open-loop generator for the half-load phases: c (openloop.c, as wrk2 would) "
        "or python (httpload.open_loop, the generator of sessions 1-5)",
    )
    ap.add_argument("--json", type=Path, help="write every run's figures here")
    args = ap.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the servers this run started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    asgis = ["uvicorn", "granian"] if args.server == "both" else [args.server]
    if args.workers > 1 and args.server != "cli":
        raise SystemExit("--workers N runs Backbeat under `backbeat serve`: add --server cli")

    notes = machine_notes()
    started = datetime.now(UTC)
    seed_dir = seeded_dir(args)
    work = Path(tempfile.mkdtemp(prefix="backbeat-http-"))
    work.chmod(0o755)  # nginx's unprivileged workers read the pixel below it
    inputs = write_inputs(seed_dir, work, args.user_agents)
    runs: list[dict[tuple[str, str], Measure]] = []
    checks: list[dict[str, object]] = []
    commands: dict[str, str] = {}
    try:
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            result: dict[tuple[str, str], Measure] = {}
            nginx = servers.start_nginx(work / f"nginx-{run}")
            commands["nginx"] = nginx.shell_command()
            try:
                m = measured_wrk(nginx, "static.lua", ["/i/pixel.gif"], args)
                print(f"  nginx static: {m.rps:,.0f}/s", flush=True)
                result["nginx static GIF (1 worker)", "nginx"] = m
                for asgi in asgis:
                    for base in baseline_servers(asgi, args.workers):
                        for k, v in measure_baselines(base, args, work).items():
                            result[k, base] = v
                    rows, check, cmd = measure_backbeat(asgi, seed_dir, inputs, args, work, run)
                    commands[f"backbeat/{asgi}"] = cmd
                    for k, v in rows.items():
                        result[k, asgi] = v
                    checks.append({"run": run, "server": asgi, **check})
                    ok = (
                        0
                        <= check["impressions"] - check["acknowledged"]
                        <= check["cut_off_in_flight_max"]
                        and check["impressions"] == check["distinct_decisions"]
                    )
                    print(
                        f"  {asgi}: stored {check['impressions']:,} impressions "
                        f"({check['distinct_decisions']:,} distinct decisions), acknowledged "
                        f"{check['acknowledged']:,}: {'OK' if ok else 'MISMATCH'}",
                        flush=True,
                    )
                # The load generator's own floor: the same open loop against nginx.
                rate = max(m.rps for (b, _), m in result.items() if b == "beacons @50% of peak")
                gif = [httpload.http_request("GET", "/i/pixel.gif", {"Accept": "*/*"})]
                floor, _ = measured_open_loop(
                    nginx,
                    (gif * int(rate * args.half_duration + 1)).__getitem__,
                    rate,
                    args.half_duration,
                    args,
                    "nginx",
                )
                floor.extra["target_rate"] = rate
                result["generator floor: same open loop vs nginx", "nginx"] = floor
            finally:
                nginx.stop()
            runs.append(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = median_table(runs)
    print()
    print(f"## HTTP benchmark, {started:%Y-%m-%d %H:%M} UTC, median of {args.runs} run(s)")
    print(f"Serving processes: {args.workers} (server: {args.server})")
    print(f"Machine: {notes}; load average after: {os.getloadavg()[0]:.2f}")
    print()
    print(markdown(table))
    print()
    print(
        "Stored vs acknowledged impressions (acknowledged <= stored <= acknowledged + "
        "requests in flight when the load stopped; each decision stored once):"
    )
    for c in checks:
        print(f"  run {c['run']} {c['server']}: {json.dumps(c)}")
    print()
    print("Commands:")
    for name, cmd in commands.items():
        print(f"  {name}: {cmd}")
    seen: set[str] = set()
    for bench, _server, m in table:
        if m.command not in seen:
            seen.add(m.command)
            print(f"  {bench}: {m.command}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "started": started.isoformat(),
                    "machine": notes,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "runs": [
                        [{"bench": b, "server": s, **asdict(m)} for (b, s), m in r.items()]
                        for r in runs
                    ],
                    "checks": checks,
                    "commands": commands,
                },
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
