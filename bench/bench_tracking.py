"""Tracking's own CPU per beacon, in process: a serving worker's beacon front and the
ingest process's count of one hit, without HTTP, a spool or a store.

    .venv/bin/python bench/bench_tracking.py [--n 20000]

1. ``worker``: ``POST /i/<token>?u=<page>`` scopes through :class:`BeaconRoutes` of a
   worker runtime whose hit spool keeps nothing (so this is the verification, visitor
   hash, header reading and Hit building alone), 50 User-Agents, cached as in a warm
   worker;
2. ``count``: :func:`~backbeat.tracking.hits.count_hit` on first-impression hits of 500
   campaigns, with in-memory counters, creative stats and a touch log (the ingest
   process's per-hit work before storing).

Each prints CPU microseconds per item, best of 5 passes. Compare revisions by running this
file against each (``PYTHONPATH=<other worktree>``), alternating, on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from backbeat.config import load_settings
from backbeat.domain.campaign import Objective
from backbeat.domain.events import EventType
from backbeat.domain.taxonomy import AdFormat, DeviceType
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.memory import MemoryCounters
from backbeat.tracking.attribution import MemoryTouchLog
from backbeat.tracking.hits import Counting, Hit, count_hit
from backbeat.tracking.ids import new_id
from backbeat.tracking.rejections import Rejections
from backbeat.tracking.signing import TrackingPayload, sign

SECRET = b"s" * 32
PAGE = "https%3A%2F%2Flyrics.example%2Fsongs%2Fsome-song-lyrics"
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    f"Chrome/124.0.{i}.1 Safari/537.36"
    for i in range(50)
]


def token(i: int, now: float) -> str:
    return sign(
        TrackingPayload(
            kind=EventType.IMPRESSION, decision_id=str(uuid.uuid4()), campaign_id=i % 500 + 1,
            creative_id=i % 900 + 1, placement_id=3, site_id=4, advertiser_id=5,
            publisher_id=6, price_micros=2500, expires=int(now) + 3600,
            format=AdFormat.DISPLAY, size="300x250", genre="indie-rock", genre_match=True,
            objective=Objective.AWARENESS, country="US", device=DeviceType.DESKTOP,
            visitor="h" + "X" * 22, site_domain="lyrics.example", freq_window_s=86400,
        ),
        SECRET,
    )


class _Nowhere:
    async def submit(self, hits: Sequence[Hit]) -> None:
        return None


def bench_worker(n: int, tokens: list[str]) -> float:
    try:
        from backbeat.web.beacons import BeaconRoutes
    except ImportError:  # revisions before web/beacons.py
        from backbeat.web.tracking_routes import BeaconRoutes  # type: ignore[attr-defined,no-redef]
    settings = load_settings(secret_key=SECRET.decode())
    rt = SimpleNamespace(
        clock=lambda: datetime.now(UTC), rejections=Rejections(), secret=SECRET,
        settings=settings, new_id=new_id, hits=_Nowhere(),
    )
    app = SimpleNamespace(state=SimpleNamespace(runtime=rt))

    async def fail(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a beacon reached the router")

    front = BeaconRoutes(fail)

    async def send(message: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    def scope(i: int) -> dict[str, Any]:
        return {
            "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/i/" + tokens[i % len(tokens)], "raw_path": b"", "root_path": "",
            "query_string": f"u={PAGE}".encode(),
            "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", UAS[i % 50].encode()),
                        (b"accept", b"*/*"), (b"content-length", b"0")],
            "client": ("127.0.0.1", 50000 + i % 1000), "server": ("127.0.0.1", 8000),
            "app": app,
        }

    async def run() -> float:
        for i in range(2000):  # warm the caches
            await front(scope(i), receive, send)
        best = float("inf")
        for _ in range(5):
            scopes = [scope(i) for i in range(n)]
            t = time.process_time()
            for s in scopes:
                await front(s, receive, send)
            best = min(best, (time.process_time() - t) / n * 1e6)
        return best

    return asyncio.run(run())


def bench_count(n: int, tokens: list[str], now: float) -> float:
    settings = load_settings(secret_key=SECRET.decode(), base_url="https://ads.example")
    best = float("inf")
    for rep in range(5):
        counting = Counting(MemoryCounters(), settings, SECRET, lambda cid: None,
                            CreativeStats(), MemoryTouchLog())
        hits = [
            Hit(f"{rep}-{i}", now, EventType.IMPRESSION, tokens[i % len(tokens)], "POST",
                False, "", "www.lyrics.example", f"h{i % 3000:021d}", f"k{i % 3000:021d}")
            for i in range(n)
        ]
        t = time.process_time()
        for h in hits:
            count_hit(h, counting)
        best = min(best, (time.process_time() - t) / n * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    args = ap.parse_args()
    now = time.time()
    tokens = [token(i, now) for i in range(args.n)]
    print(f"worker beacon front: {bench_worker(args.n, tokens):.1f} µs per beacon")
    print(f"count_hit: {bench_count(args.n, tokens, now):.1f} µs per hit")


if __name__ == "__main__":
    main()
