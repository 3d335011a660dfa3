"""What Backbeat's own code costs per request, without an HTTP server or a network.

    .venv/bin/python bench/profile_inproc.py [--what serve|beacons|both] [--n 20000]
                                             [--profile] [--top 40]

Opens the application exactly as ``backbeat serve`` does (``create_app`` on the seeded data
directory that ``bench_http.py`` builds, copied to a temporary directory), runs its lifespan,
and calls the ASGI app directly from one event loop: ``GET /serve`` with one slot, then
first-impression beacons (``POST /i/<token>``) for the links those decisions returned,
with the same User-Agents and country header as the HTTP benchmark. Concurrency is 64
requests in flight, so beacons group-commit as they do under wrk.

Prints process CPU time per request (all threads: the spool and DuckDB writer threads
included) and wall requests/s. The difference from ``bench_http.py``'s per-request CPU is
what the HTTP server (uvicorn, the sockets) costs. ``--profile`` adds a cProfile of the
event-loop thread, sorted by cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import bench_http
import orjson

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]
COUNTRIES = bench_http.COUNTRIES


def scope_for(method: str, target: str, headers: dict[str, str]) -> Scope:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, scope: Scope) -> tuple[int, bytes]:
    status = 0
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


async def run_all(app: Any, scopes: list[Scope], concurrency: int = 64) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = [(0, b"")] * len(scopes)
    it = iter(enumerate(scopes))

    async def worker() -> None:
        for i, scope in it:
            out[i] = await call(app, scope)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def cpu() -> float:
    t = os.times()
    return t.user + t.system


async def measure(
    app: Any, label: str, scopes: list[Scope], profile: bool, top: int
) -> list[tuple[int, bytes]]:
    prof = cProfile.Profile() if profile else None
    c0, w0 = cpu(), time.perf_counter()
    if prof:
        prof.enable()
    answers = await run_all(app, scopes)
    if prof:
        prof.disable()
    c1, w1 = cpu(), time.perf_counter()
    n = len(scopes)
    bad = sum(1 for s, _ in answers if s >= 300)
    print(
        f"{label}: {n} requests, {n / (w1 - w0):,.0f}/s wall, "
        f"{(c1 - c0) / n * 1e6:,.0f} µs CPU per request (all threads), {bad} not 2xx"
    )
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    return answers


async def main_async(args: argparse.Namespace, data: Path) -> None:
    os.environ.update(
        {
            "BACKBEAT_DATA_DIR": str(data),
            "BACKBEAT_BASE_URL": "http://127.0.0.1:8000",
            "BACKBEAT_TRUSTED_COUNTRY_HEADER": "CF-IPCountry",
        }
    )
    from backbeat.config import load_settings
    from backbeat.web.app import create_app

    app = create_app(load_settings())
    listing = orjson.loads((data / "bench_placements.json").read_bytes())
    placements = [(int(p["id"]), str(p["url"])) for p in listing]
    uas = bench_http.user_agents(10_000)
    rng = random.Random(3)
    async with app.router.lifespan_context(app):
        serve_scopes: list[Scope] = []
        served_ua: list[str] = []
        served_page: list[str] = []
        for _ in range(args.n):
            pid, url = rng.choice(placements)
            ua = rng.choice(uas)
            headers = {"User-Agent": ua, "CF-IPCountry": rng.choice(COUNTRIES), "Accept": "*/*"}
            target = f"/serve?p={pid}&u={quote(url, safe='')}"
            serve_scopes.append(scope_for("GET", target, headers))
            served_ua.append(ua)
            served_page.append(quote(url, safe=""))
        await measure(app, "warm-up /serve", serve_scopes[: args.n // 4], False, 0)
        what = args.what
        answers = await measure(
            app, "GET /serve (1 slot)", serve_scopes, args.profile and what != "beacons", args.top
        )
        if what == "serve":
            return
        beacons: list[Scope] = []
        for (status, body), ua, page in zip(answers, served_ua, served_page, strict=True):
            if status != 200:
                continue
            for ad in orjson.loads(body)["ads"]:
                path = urlsplit(ad["imp"]).path
                beacons.append(scope_for("POST", f"{path}?u={page}", {"User-Agent": ua}))
        await measure(app, "POST /i/<token> (first impressions)", beacons, args.profile, args.top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--what", choices=("serve", "beacons", "both"), default="both")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument(
        "--seed-cache", default=str(Path(tempfile.gettempdir()) / "backbeat-bench-http")
    )
    ap.add_argument("--campaigns", type=int, default=10_000)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--placements-per-site", type=int, default=3)
    args = ap.parse_args()
    seed = bench_http.seeded_dir(args)
    with tempfile.TemporaryDirectory(prefix="backbeat-inproc-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(seed, data)
        asyncio.run(main_async(args, data))


if __name__ == "__main__":
    main()
