"""Micro-benchmark: ad decisions per second, in process, over a synthetic catalog.

Builds N active campaigns (default 10,000) spread over formats, sizes, genres, countries,
devices, dayparts, time zones, pricing and pacing; 300 sites with 700 placements; then times
`Decider.decide()` on random requests against a naive baseline that scans every campaign
per request, applying the same filters in the same order and ranking by the same score.

    .venv/bin/python bench/bench_decide.py [--campaigns 10000] [--requests 100000]

Both use the real in-process counters (`MemoryCounters`) with some spend and exposures
seeded. Fill rates are printed too, so a fast no-fill cannot pass for a fast decision.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from backbeat.domain.campaign import (
    Campaign,
    CampaignStatus,
    FrequencyCap,
    Objective,
    Pacing,
    Pricing,
    Targeting,
)
from backbeat.domain.creative import AssetKind, Creative, DestinationKind, ReviewStatus
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.taxonomy import DISPLAY_SIZES, GENRES, AdFormat, DeviceType, Size
from backbeat.serving.context import RequestContext
from backbeat.serving.decide import Decider
from backbeat.serving.entries import Candidate
from backbeat.serving.index import CandidateIndex
from backbeat.serving.localtime import LocalTimes, local_day
from backbeat.serving.ranking import REACH_BOOST, campaign_ctr, expected_revenue
from backbeat.serving.request import AdRequest, Decision
from backbeat.serving.stats import CreativeStats
from backbeat.serving.targeting import (
    audience,
    budget_daily,
    budget_total,
    daypart,
    fitting_creatives,
    floor,
    frequency_cap,
    pacing,
    placement_ok,
)
from backbeat.store.catalog.protocol import ServingSnapshot
from backbeat.store.counters.memory import MemoryCounters

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "BR", "MX", "SE", "NL", "JP", "ES"]
ZONES = ["UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo"]
GENRE_SLUGS = [g.slug for g in GENRES]
DISPLAY = sorted(DISPLAY_SIZES)
NATIVE = [Size(1200, 627), Size(627, 627)]
VIDEO = [Size(640, 360), Size(1280, 720)]


def build_catalog(n_campaigns: int, rng: random.Random) -> ServingSnapshot:
    campaigns: list[Campaign] = []
    creatives: list[Creative] = []
    cr_id = 0
    for cid in range(1, n_campaigns + 1):
        fmt = rng.choices([AdFormat.DISPLAY, AdFormat.NATIVE, AdFormat.VIDEO], [8, 1, 1])[0]
        pricing = Pricing.CPC if rng.random() < 0.3 else Pricing.CPM
        bid = (
            rng.randrange(20, 200) * 10_000
            if pricing is Pricing.CPC
            else rng.randrange(10, 60) * 250_000
        )
        t = Targeting(
            genres=frozenset(rng.sample(GENRE_SLUGS, rng.randint(1, 3)))
            if rng.random() < 0.7
            else frozenset(),
            countries=frozenset(rng.sample(COUNTRIES, rng.randint(1, 3)))
            if rng.random() < 0.6
            else frozenset(),
            devices=frozenset(rng.sample(list(DeviceType), 2))
            if rng.random() < 0.3
            else frozenset(),
            hours=frozenset(range(8, 23)) if rng.random() < 0.1 else frozenset(),
            days=frozenset(range(5)) if rng.random() < 0.05 else frozenset(),
        )
        campaigns.append(
            Campaign(
                advertiser_id=1 + cid % 500,
                name=f"c{cid}",
                objective=rng.choice(list(Objective)) if not t.countries else Objective.TRAFFIC,
                pricing=pricing,
                bid_micros=bid,
                budget_total_micros=rng.randrange(500, 50_000) * 1_000_000,
                budget_daily_micros=rng.randrange(50, 500) * 1_000_000
                if rng.random() < 0.5
                else None,
                start=NOW - timedelta(days=rng.randint(1, 20)),
                end=NOW + timedelta(days=rng.randint(1, 40)),
                timezone=rng.choice(ZONES),
                pacing=Pacing.EVEN if rng.random() < 0.7 else Pacing.ASAP,
                frequency_cap=FrequencyCap(3, 24) if rng.random() < 0.4 else None,
                targeting=t,
                status=CampaignStatus.ACTIVE,
                id=cid,
            )
        )
        sizes = {AdFormat.DISPLAY: DISPLAY, AdFormat.NATIVE: NATIVE, AdFormat.VIDEO: VIDEO}[fmt]
        for size in rng.sample(sizes, min(len(sizes), rng.randint(1, 2))):
            cr_id += 1
            creatives.append(
                Creative(
                    advertiser_id=1,
                    campaign_id=cid,
                    name=f"cr{cr_id}",
                    format=fmt,
                    size=size,
                    asset_kind=AssetKind.VIDEO if fmt is AdFormat.VIDEO else AssetKind.IMAGE,
                    asset_url=f"https://cdn.example.com/{cr_id}.png",
                    destination_url="https://open.spotify.com/track/x",
                    destination_kind=DestinationKind.STREAMING,
                    alt_text="cover art",
                    review_status=ReviewStatus.APPROVED,
                    id=cr_id,
                )
            )
    sites: list[Site] = []
    placements: list[Placement] = []
    pl_id = 0
    for sid in range(1, 301):
        sites.append(
            Site(
                publisher_id=1 + sid % 50,
                domain=f"site{sid}.example.com",
                name=f"Site {sid}",
                country=rng.choice(COUNTRIES),
                genres=frozenset(rng.sample(GENRE_SLUGS, rng.randint(1, 3))),
                id=sid,
            )
        )
        for _ in range(rng.choice([2, 2, 3])):
            pl_id += 1
            fmt = rng.choices([AdFormat.DISPLAY, AdFormat.NATIVE, AdFormat.VIDEO], [8, 1, 1])[0]
            pool = {AdFormat.DISPLAY: DISPLAY, AdFormat.NATIVE: NATIVE, AdFormat.VIDEO: VIDEO}[fmt]
            placements.append(
                Placement(
                    site_id=sid,
                    name=f"p{pl_id}",
                    format=fmt,
                    sizes=frozenset(rng.sample(pool, rng.randint(1, 2))),
                    floor_cpm_micros=rng.choice([2_500_000, 3_000_000, 4_000_000]),
                    id=pl_id,
                )
            )
    return ServingSnapshot(1, campaigns, creatives, sites, placements, [])


def seed_state(
    snap: ServingSnapshot, counters: MemoryCounters, stats: CreativeStats, rng: random.Random
) -> None:
    for c in snap.campaigns:
        if rng.random() < 0.5:
            assert c.id is not None
            counters.add_spend(c.id, local_day(c.timezone, NOW), rng.randrange(0, 40) * 1_000_000)
    for cr in snap.creatives:
        if rng.random() < 0.5:
            imps = rng.randrange(100, 20_000)
            assert cr.id is not None
            stats.record_impression(cr.id, imps)
            stats.record_click(cr.id, int(imps * rng.uniform(0.002, 0.02)))
    epoch = NOW.timestamp()
    for v in range(2000):
        for _ in range(5):
            counters.record_exposure(
                f"v{v}",
                rng.randrange(1, len(snap.campaigns) + 1),
                epoch - rng.randrange(0, 20_000),
                86_400,
            )


def make_requests(
    snap: ServingSnapshot, n: int, span_s: float, rng: random.Random
) -> list[AdRequest]:
    sites = {s.id: s for s in snap.sites}
    out = []
    for i in range(n):
        pl = rng.choice(snap.placements)
        s = sites[pl.site_id]
        out.append(
            AdRequest(
                placement_id=pl.id or 0,
                page_host=s.domain,
                country=rng.choice(COUNTRIES),
                device=rng.choice([DeviceType.DESKTOP, DeviceType.MOBILE, DeviceType.MOBILE]),
                visitor=f"v{rng.randrange(20_000)}" if rng.random() < 0.9 else None,
                now=NOW + timedelta(seconds=i * span_s / n),
            )
        )
    return out


class NaiveScan:
    """The baseline: per request, scan every live campaign, keep those that pass every filter,
    rank the survivors by the same score. A sensible scan: the cheap static checks run first
    and counters are read only for campaigns that pass them."""

    def __init__(
        self,
        index: CandidateIndex,
        counters: MemoryCounters,
        stats: CreativeStats,
        rng: random.Random,
    ) -> None:
        self.index = index
        self.counters = counters
        self.stats = stats
        self.rng = rng
        self.local_times = LocalTimes()
        self.entries = list(index.campaigns.values())

    def decide(self, req: AdRequest) -> int | None:
        pe = self.index.placements[req.placement_id]
        assert req.now is not None
        epoch = req.now.timestamp()
        ctx = RequestContext(
            req,
            epoch,
            pe.placement,
            pe.site,
            self.counters,
            self.stats,
            self.rng,
            self.local_times,
            (),
            {},
        )
        survivors = []
        for e in self.entries:
            if not (e.start <= epoch < e.end):
                continue
            if not placement_ok(e, pe.site, req.country, req.device):
                continue
            fitting = fitting_creatives(e, pe.placement)
            if not fitting:
                continue
            c = Candidate(e, fitting)
            if daypart(c, ctx) and audience(c, ctx):
                survivors.append(c)
        ctx.prefetch(survivors)
        best, best_score = None, -1.0
        for c in survivors:
            e = c.entry
            if not (
                budget_total(c, ctx)
                and budget_daily(c, ctx)
                and frequency_cap(c, ctx)
                and pacing(c, ctx)
                and floor(c, ctx)
            ):
                continue
            score = expected_revenue(e.cpc, e.bid, campaign_ctr(self.stats, c.creatives))
            if e.awareness and req.visitor is not None and ctx.exposures(c) == 0:
                score *= REACH_BOOST
            if score > best_score:
                best, best_score = e.id, score
        return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaigns", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--baseline-requests", type=int, default=500)
    ap.add_argument(
        "--span-s", type=float, default=60.0, help="simulated seconds the requests are spread over"
    )
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    snap = build_catalog(args.campaigns, rng)
    counters = MemoryCounters()
    stats = CreativeStats()
    seed_state(snap, counters, stats, rng)

    t0 = time.perf_counter()
    index = CandidateIndex.build(snap, NOW)
    build_s = time.perf_counter() - t0
    print(
        f"catalog: {index.campaign_count} live campaigns, {len(snap.creatives)} creatives, "
        f"{len(index.placements)} placements; index build {build_s * 1000:.0f} ms"
    )

    reqs = make_requests(snap, args.requests, args.span_s, rng)
    decider = Decider(index, counters, random.Random(1), lambda: NOW, stats, id_fn=lambda: "bench")

    wall, cpu = timed(lambda: [decider.decide(r) for r in reqs])
    report("indexed decide(), first pass (builds slates)", len(reqs), wall, cpu)
    best_wall, best_cpu = min(timed(lambda: [decider.decide(r) for r in reqs]) for _ in range(3))
    results = [decider.decide(r) for r in reqs]
    fills = sum(isinstance(x, Decision) for x in results)
    report(
        "indexed decide(), steady state (best of 3)",
        len(reqs),
        best_wall,
        best_cpu,
        f"fill rate {fills / len(reqs):.1%}",
    )

    naive = NaiveScan(index, counters, stats, random.Random(1))
    base = reqs[: args.baseline_requests]
    picks: list[int | None] = []
    naive_wall, naive_cpu = timed(lambda: picks.extend(naive.decide(r) for r in base))
    naive_fills = sum(p is not None for p in picks)
    report(
        "naive scan over all campaigns",
        len(base),
        naive_wall,
        naive_cpu,
        f"fill rate {naive_fills / len(base):.1%}",
    )
    print(
        f"speed-up (CPU time per decision): {(naive_cpu / len(base)) / (best_cpu / len(reqs)):.0f}x"
    )


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call. The machine is shared, so
    CPU time is the steadier figure; both are printed."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def report(label: str, n: int, wall: float, cpu: float, extra: str = "") -> None:
    print(
        f"{label:<46} {n / wall:>10,.0f}/s wall {n / cpu:>10,.0f}/s CPU  "
        f"({n} requests{', ' + extra if extra else ''})"
    )


if __name__ == "__main__":
    main()
