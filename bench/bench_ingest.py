"""The ingest process's cost per beacon and per decision event, in process.

    .venv/bin/python bench/bench_ingest.py [--hits 100000] [--decisions 100000] [--profile]
                                     [--sort tottime]

With several serving workers (`backbeat serve --workers N`) every beacon is counted, and
every decision stored, by one ingest process. This measures that process's work alone,
without HTTP: two producer spools (as two workers would write them) are filled with
first-impression hits for distinct decisions (real signed links; the workers' bot
verdicts on real User-Agents) and with decision events, then one
:class:`~backbeat.tracking.consumer.HitConsumer` counts and stores them into a DuckDB
file, in rounds as the live loop does: each hit's campaign found among 10,000 (its time
zone and budgets read for billing), each valid impression recorded as a touch for
attribution, the heap settled first as the ingest process settles it. Prints CPU time per
item (all threads), and the producers' cost per item for comparison (the workers' spool
appends). Before session 13 it counted without campaigns or touches, about a fifth cheaper
per hit: figures from then are not comparable.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backbeat.config import load_settings
from backbeat.domain.campaign import Campaign, CampaignStatus, Objective, Pricing
from backbeat.domain.events import Event, EventType
from backbeat.domain.taxonomy import AdFormat, DeviceType
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.handoff import RowCodec, SpoolSink
from backbeat.store.events.spool_format import EVENT_CODEC
from backbeat.store.events.spool_reader import SpoolReader
from backbeat.tracking.attribution import MemoryTouchLog
from backbeat.tracking.consumer import HitConsumer
from backbeat.tracking.effects import Effects, RecordingCounters
from backbeat.tracking.hits import Counting, Hit, HitCodec
from backbeat.tracking.ids import new_id
from backbeat.tracking.signing import TrackingPayload, sign
from backbeat.tracking.useragent import is_bot
from backbeat.web.runtime import settle_heap

SECRET = b"bench-secret-0123456789-abcdefghijkl"
UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.{}.0 Safari/537.36"
)


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def make_hits(n: int, now: float, rng: random.Random) -> list[Hit]:
    hits = []
    for i in range(n):
        cid = rng.randrange(1, 10_001)
        payload = TrackingPayload(
            kind=EventType.IMPRESSION, decision_id=str(uuid.uuid4()), campaign_id=cid,
            creative_id=cid * 2, placement_id=rng.randrange(1, 601), site_id=rng.randrange(1, 201),
            advertiser_id=cid % 500 + 1, publisher_id=rng.randrange(1, 51), price_micros=2_500,
            expires=int(now) + 3600, format=AdFormat.DISPLAY, size="300x250", genre="pop",
            genre_match=True, objective=Objective.TRAFFIC, country="US",
            device=DeviceType.DESKTOP, visitor=f"h{i:021d}", site_domain="",
            freq_window_s=86_400,
        )
        hits.append(Hit(new_id(), now + i / 10_000, EventType.IMPRESSION, sign(payload, SECRET),
                        "POST", is_bot(UA.format(i % 5000)), "", None, f"h{i:021d}", f"k{i:021d}"))
    return hits


def make_campaigns(n: int, now: float) -> dict[int, Campaign]:
    """`n` active campaigns as the serving index holds them: each in one of a few time
    zones, with total and daily budgets (so billing reads its zone's day and both caps)."""
    start = datetime.fromtimestamp(now, UTC) - timedelta(days=1)
    zones = ("UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney")
    return {
        cid: Campaign(
            advertiser_id=cid % 500 + 1, name=f"c{cid}", objective=Objective.TRAFFIC,
            pricing=Pricing.CPM, bid_micros=2_500_000, budget_total_micros=10**12,
            start=start, end=start + timedelta(days=30), timezone=zones[cid % len(zones)],
            budget_daily_micros=10**10, status=CampaignStatus.ACTIVE, id=cid,
        )
        for cid in range(1, n + 1)
    }


def make_decisions(n: int, now: float, rng: random.Random) -> list[Event]:
    ts = datetime.fromtimestamp(now, UTC)
    return [
        Event(new_id(), ts, EventType.DECISION, True, str(uuid.uuid4()), cid, cid * 2, 1,
              rng.randrange(1, 201), 1, rng.randrange(1, 601), f"h{i:021d}", "US", "desktop",
              "display", "300x250", "pop", True, "traffic")
        for i in range(n)
        for cid in [rng.randrange(1, 10_001)]
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hits", type=int, default=100_000)
    ap.add_argument("--decisions", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=50, help="items per spool append")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--sort", default="cumulative", help="the profile's order (pstats key)")
    args = ap.parse_args()
    rng = random.Random(7)
    now = time.time()
    settings = load_settings(secret_key=SECRET.decode(), max_events_per_visitor_minute=1000)
    hits = make_hits(args.hits, now, rng)
    campaigns = make_campaigns(10_000, now)
    decisions = make_decisions(args.decisions, now, rng)
    with tempfile.TemporaryDirectory(prefix="backbeat-ingest-") as tmp:
        root = Path(tmp)
        sinks_h = [SpoolSink(root / "hits", HitCodec(), prefix=f"w{k}") for k in range(2)]
        sinks_d = [SpoolSink(root / "events", EVENT_CODEC, prefix=f"w{k}") for k in range(2)]
        c0 = cpu()
        for j in range(0, len(hits), args.batch):
            sinks_h[(j // args.batch) % 2].submit(hits[j : j + args.batch])
        c1 = cpu()
        for j in range(0, len(decisions), args.batch):
            sinks_d[(j // args.batch) % 2].submit(decisions[j : j + args.batch])
        c2 = cpu()
        for sink_h in sinks_h:
            sink_h.close()
        for sink_d in sinks_d:
            sink_d.close()
        print(f"producers: {(c1 - c0) / max(1, len(hits)) * 1e6:.1f} µs per hit, "
              f"{(c2 - c1) / max(1, len(decisions)) * 1e6:.1f} µs per decision event spooled "
              f"(batches of {args.batch}, one fdatasync each)")

        store = DuckDBEventStore(root / "events.duckdb")
        # As the ingest process has it with in-process counters: profiles only recorded.
        try:
            recorder = RecordingCounters(MemoryCounters(), keep_profiles=False)
        except TypeError:  # revisions before keep_profiles
            recorder = RecordingCounters(MemoryCounters())
        # As the live ingest counts: campaigns found (their zones and budgets), and every
        # valid impression recorded as a touch for attribution.
        counting = Counting(recorder, settings, SECRET, campaigns.get, CreativeStats(),
                            MemoryTouchLog())
        published: list[Effects] = []
        hit_reader: SpoolReader[Hit] = SpoolReader(root / "hits", codec=HitCodec(), empty_grace_s=0)
        row_reader = SpoolReader(root / "events", codec=RowCodec(), empty_grace_s=0)
        consumer = HitConsumer(hit_reader, row_reader, counting, recorder, store.append_table,
                               published.append)
        prof = cProfile.Profile() if args.profile else None
        settle_heap()  # as the ingest process does once it has loaded its state
        c0, w0 = cpu(), time.perf_counter()
        if prof:
            prof.enable()
        consumer.stop(drain=True)
        if prof:
            prof.disable()
        c1, w1 = cpu(), time.perf_counter()
        n = len(hits) + len(decisions)
        stored = store.count()
        valid = store.count(type=EventType.IMPRESSION, valid=True)
        print(f"ingest: {n:,} items in {w1 - w0:.2f} s ({n / (w1 - w0):,.0f}/s wall), "
              f"{(c1 - c0) / n * 1e6:.1f} µs CPU per item; stored {stored:,}, "
              f"valid impressions {valid:,} of {len(hits):,}; {consumer.stats.flushes} appends")
        hit_reader.close()
        row_reader.close()
        store.close()
        if prof:
            pstats.Stats(prof).sort_stats(args.sort).print_stats(35)


if __name__ == "__main__":
    main()
