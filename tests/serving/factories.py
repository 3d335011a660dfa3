"""Plain domain objects for serving tests (a small network built in code, no I/O), and a
settable clock and a gated catalog source for the index holder."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from backbeat.domain.campaign import (
    Campaign,
    CampaignStatus,
    Objective,
    Pacing,
    Pricing,
    Targeting,
)
from backbeat.domain.creative import AssetKind, Creative, DestinationKind, ReviewStatus
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.taxonomy import AdFormat, DeviceType, Size
from backbeat.serving.decide import Decider
from backbeat.serving.index import CandidateIndex
from backbeat.serving.request import AdRequest
from backbeat.serving.stats import CreativeStats
from backbeat.store.catalog import SqlCatalog
from backbeat.store.catalog.protocol import ServingSnapshot
from backbeat.store.counters.memory import MemoryCounters

# A Tuesday, mid-afternoon UTC; every test campaign's flight spans it.
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
MRECT = Size(300, 250)
LEADER = Size(728, 90)
USD = 1_000_000


def campaign(cid: int, **kw: Any) -> Campaign:
    """An active, untargeted $5 CPM ASAP traffic campaign with a big budget."""
    base = Campaign(
        advertiser_id=100 + cid,
        name=f"Campaign {cid}",
        objective=Objective.TRAFFIC,
        pricing=Pricing.CPM,
        bid_micros=5 * USD,
        budget_total_micros=1000 * USD,
        start=NOW - timedelta(days=10),
        end=NOW + timedelta(days=10),
        pacing=Pacing.ASAP,
        status=CampaignStatus.ACTIVE,
        id=cid,
    )
    return replace(base, **kw)


def targeting(**kw: Any) -> Targeting:
    return Targeting(**kw)


def creative(crid: int, campaign_id: int, **kw: Any) -> Creative:
    """An approved 300x250 display image creative."""
    base = Creative(
        advertiser_id=100 + campaign_id,
        campaign_id=campaign_id,
        name=f"Creative {crid}",
        format=AdFormat.DISPLAY,
        size=MRECT,
        asset_kind=AssetKind.IMAGE,
        asset_url=f"https://cdn.example.com/{crid}.png",
        destination_url="https://open.spotify.com/track/abc",
        destination_kind=DestinationKind.STREAMING,
        alt_text="Album cover",
        review_status=ReviewStatus.APPROVED,
        id=crid,
    )
    return replace(base, **kw)


def site(sid: int = 1, **kw: Any) -> Site:
    base = Site(
        publisher_id=7,
        domain=f"site{sid}.example.com",
        name=f"Site {sid}",
        country="US",
        genres=frozenset({"rock"}),
        id=sid,
    )
    return replace(base, **kw)


def placement(pid: int = 1, site_id: int = 1, **kw: Any) -> Placement:
    """A 300x250 display slot with a $2.50 floor."""
    base = Placement(
        site_id=site_id,
        name=f"Slot {pid}",
        format=AdFormat.DISPLAY,
        sizes=frozenset({MRECT}),
        floor_cpm_micros=2_500_000,
        id=pid,
    )
    return replace(base, **kw)


def snapshot(
    campaigns: list[Campaign],
    creatives: list[Creative] | None = None,
    sites: list[Site] | None = None,
    placements: list[Placement] | None = None,
    version: int = 1,
) -> ServingSnapshot:
    """A snapshot; without `creatives`, each campaign gets one approved 300x250 creative whose
    id is 10 x the campaign id."""
    if creatives is None:
        creatives = [creative(10 * (c.id or 0), c.id or 0) for c in campaigns]
    return ServingSnapshot(
        version=version,
        campaigns=campaigns,
        creatives=creatives,
        sites=sites if sites is not None else [site()],
        placements=placements if placements is not None else [placement()],
        audiences=[],
    )


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Gated:
    """The real catalog, whose snapshots wait until the test opens the gate: a background
    rebuild is then still running when the call that started it returns."""

    def __init__(self, catalog: SqlCatalog) -> None:
        self.catalog = catalog
        self.gate = threading.Event()
        self.gate.set()

    def version(self) -> int:
        return self.catalog.version()

    def serving_snapshot(self) -> ServingSnapshot:
        if not self.gate.wait(20):
            raise TimeoutError("the test never opened the gate")
        return self.catalog.serving_snapshot()


def request(**kw: Any) -> AdRequest:
    """A request for placement 1 on site1.example.com from a US desktop visitor at NOW."""
    base: dict[str, Any] = {
        "placement_id": 1,
        "page_host": "site1.example.com",
        "country": "US",
        "device": DeviceType.DESKTOP,
        "visitor": "visitor-1",
        "now": NOW,
    }
    base.update(kw)
    return AdRequest(**base)


class Rig:
    """A decider over an index of `snap`, with real in-process counters and stats."""

    def __init__(
        self, snap: ServingSnapshot, *, seed: int = 1, now: datetime = NOW, **decider_kw: Any
    ) -> None:
        self.index = CandidateIndex.build(snap, now)
        self.counters = MemoryCounters()
        self.stats = CreativeStats()
        self.rng = random.Random(seed)
        self.ids = iter(range(1, 10**9))
        self.decider = Decider(
            self.index,
            self.counters,
            self.rng,
            lambda: now,
            self.stats,
            id_fn=lambda: f"d{next(self.ids)}",
            **decider_kw,
        )
