"""Seed a data directory with a large live network for the HTTP benchmarks.

Writes, through the catalog repositories, N active campaigns (default 10,000) with approved
creatives, spread over formats, sizes, genres, countries, devices, pricing and time zones,
plus S sites x P placements (default 200 x 3). Budgets are large, pacing is ASAP and
frequency caps are absent or generous, so neither pacing nor caps throttle the run: the
benchmark measures serving, not a network that has run dry.

    .venv/bin/python bench/seed_network.py DATA_DIR [--campaigns 10000] [--sites 200]

Besides the catalog it writes ``DATA_DIR/bench_placements.json``: every placement id with
a page URL on its site, which the load generators pick from.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.domain.taxonomy import DISPLAY_SIZES, GENRES, AdFormat, DeviceType, Size
from backbeat.store.catalog import open_catalog, upgrade

COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "BR", "MX", "SE", "NL", "JP", "ES")
ZONES = ("UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo")
GENRE_SLUGS = [g.slug for g in GENRES]
# The common display sizes carry most of the inventory, as on real networks.
DISPLAY_WEIGHTED = [Size(300, 250)] * 4 + [Size(728, 90)] * 2 + sorted(DISPLAY_SIZES)
SIZES = {
    AdFormat.DISPLAY: DISPLAY_WEIGHTED,
    AdFormat.NATIVE: [Size(1200, 627), Size(627, 627)],
    AdFormat.VIDEO: [Size(640, 360), Size(1280, 720)],
}
FORMAT_WEIGHTS = ([AdFormat.DISPLAY, AdFormat.NATIVE, AdFormat.VIDEO], [8, 1, 1])
PLACEMENTS_FILE = "bench_placements.json"


@dataclass(frozen=True)
class SeededPlacement:
    placement_id: int
    page_url: str


@dataclass(frozen=True)
class Seeded:
    campaigns: int
    creatives: int
    placements: list[SeededPlacement]
    seconds: float


def _campaign(rng: random.Random, advertiser_id: int, n: int, now: datetime) -> Campaign:
    pricing = Pricing.CPC if rng.random() < 0.3 else Pricing.CPM
    if pricing is Pricing.CPC:
        bid = rng.randrange(20, 200) * 10_000
    else:
        bid = rng.randrange(10, 60) * 250_000
    targeting = Targeting(
        genres=frozenset(rng.sample(GENRE_SLUGS, rng.randint(1, 3)))
        if rng.random() < 0.7
        else frozenset(),
        countries=frozenset(rng.sample(COUNTRIES, rng.randint(1, 3)))
        if rng.random() < 0.6
        else frozenset(),
        devices=frozenset(rng.sample([DeviceType.DESKTOP, DeviceType.MOBILE], 1))
        if rng.random() < 0.2
        else frozenset(),
    )
    return Campaign(
        advertiser_id=advertiser_id,
        name=f"Release {n}",
        objective=rng.choice(list(Objective)) if not targeting.countries else Objective.TRAFFIC,
        pricing=pricing,
        bid_micros=bid,
        budget_total_micros=rng.randrange(1_000, 5_000) * 1_000_000_000,
        start=now - timedelta(days=rng.randint(1, 20)),
        end=now + timedelta(days=rng.randint(30, 90)),
        timezone=rng.choice(ZONES),
        pacing=Pacing.ASAP,
        frequency_cap=FrequencyCap(500, 24) if rng.random() < 0.3 else None,
        targeting=targeting,
        status=CampaignStatus.ACTIVE,
    )


def _creatives(rng: random.Random, camp: Campaign, n: int) -> list[Creative]:
    fmt = rng.choices(*FORMAT_WEIGHTS)[0]
    pool = sorted(set(SIZES[fmt]))
    out = []
    for k, size in enumerate(rng.sample(pool, min(len(pool), rng.randint(1, 2)))):
        video = fmt is AdFormat.VIDEO
        out.append(
            Creative(
                advertiser_id=camp.advertiser_id,
                campaign_id=camp.id or 0,
                name=f"Artwork {n}.{k}",
                format=fmt,
                size=size,
                asset_kind=AssetKind.VIDEO if video else AssetKind.IMAGE,
                asset_url=f"https://cdn.example.com/c/{n}-{k}.{'mp4' if video else 'jpg'}",
                destination_url=f"https://music.example.com/release/{n}?ref=bb",
                destination_kind=DestinationKind.STREAMING,
                alt_text="" if video else f"Cover art of release {n}",
                review_status=ReviewStatus.APPROVED,
            ).validate()
        )
    return out


def seed(
    data_dir: Path,
    *,
    campaigns: int = 10_000,
    sites: int = 200,
    placements_per_site: int = 3,
    advertisers: int = 500,
    publishers: int = 50,
    rng_seed: int = 7,
    floor_cpm_micros: int = 2_500_000,
) -> Seeded:
    """Create the schema in `data_dir` and fill it; return what the load generators need."""
    t0 = time.perf_counter()
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / 'catalog.db').resolve()}"
    upgrade(url)
    catalog = open_catalog(url)
    seeded: list[SeededPlacement] = []
    n_creatives = 0
    try:
        with catalog.transaction():
            adv_ids = [
                catalog.advertisers.add(Advertiser(f"Label {i}")).id or 0
                for i in range(advertisers)
            ]
            pub_ids = [
                catalog.publishers.add(Publisher(f"Music site group {i}")).id or 0
                for i in range(publishers)
            ]
            for s in range(sites):
                domain = f"site{s}.music.test"
                site = catalog.sites.add(
                    Site(
                        pub_ids[s % len(pub_ids)],
                        domain,
                        f"Site {s}",
                        rng.choice(COUNTRIES),
                        frozenset(rng.sample(GENRE_SLUGS, rng.randint(1, 3))),
                    )
                )
                for p in range(placements_per_site):
                    fmt = rng.choices(*FORMAT_WEIGHTS)[0]
                    pool = sorted(set(SIZES[fmt]))
                    placement = catalog.placements.add(
                        Placement(
                            site.id or 0,
                            f"Slot {p}",
                            fmt,
                            frozenset(rng.sample(pool, rng.randint(1, 2))),
                            rng.choice([2_500_000, 3_000_000, 4_000_000]),
                        )
                    )
                    page = f"https://{domain}/songs/track-{p}-{rng.randrange(10_000)}"
                    seeded.append(SeededPlacement(placement.id or 0, page))
            for n in range(campaigns):
                draft = _campaign(rng, adv_ids[n % len(adv_ids)], n, now)
                camp = catalog.campaigns.add(draft.validate(floor_cpm_micros))
                for cr in _creatives(rng, camp, n):
                    catalog.creatives.add(cr)
                    n_creatives += 1
    finally:
        catalog.close()
    listing = [{"id": p.placement_id, "url": p.page_url} for p in seeded]
    (data_dir / PLACEMENTS_FILE).write_text(json.dumps(listing))
    return Seeded(campaigns, n_creatives, seeded, time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--campaigns", type=int, default=10_000)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--placements-per-site", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if (args.data_dir / "catalog.db").exists():
        raise SystemExit(f"{args.data_dir / 'catalog.db'} exists: seed a fresh directory")
    done = seed(
        args.data_dir,
        campaigns=args.campaigns,
        sites=args.sites,
        placements_per_site=args.placements_per_site,
        rng_seed=args.seed,
    )
    print(
        f"seeded {done.campaigns} active campaigns, {done.creatives} creatives, "
        f"{len(done.placements)} placements in {done.seconds:.1f} s -> {args.data_dir}"
    )


if __name__ == "__main__":
    main()
