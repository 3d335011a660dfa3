"""A small live network written straight into a catalog: one publisher with a site and two
placements, one advertiser with an active campaign and an approved creative."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from backbeat.domain.campaign import (
    Campaign,
    CampaignStatus,
    FrequencyCap,
    Objective,
    Pricing,
    Targeting,
)
from backbeat.domain.creative import AssetKind, Creative, DestinationKind, ReviewStatus
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.store.catalog.protocol import Catalog

SITE_DOMAIN = "lyricshub.test"
PAGE = f"https://{SITE_DOMAIN}/songs/night-drive"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@dataclass
class Network:
    advertiser: Advertiser
    publisher: Publisher
    site: Site
    top: Placement
    bottom: Placement
    campaign: Campaign
    creative: Creative


def build_network(
    catalog: Catalog, *, asset_url: str = "https://cdn.example.com/a.png", **campaign: Any
) -> Network:
    now = datetime.now(UTC)
    adv = catalog.advertisers.add(Advertiser("Nova Lux"))
    pub = catalog.publishers.add(Publisher("Lyrics Hub"))
    site = catalog.sites.add(Site(pub.id or 0, SITE_DOMAIN, "Lyrics Hub", "US", frozenset({"pop"})))
    sizes = frozenset({Size(300, 250)})
    top = catalog.placements.add(Placement(site.id or 0, "Top", AdFormat.DISPLAY, sizes, 2_500_000))
    bottom = catalog.placements.add(
        Placement(site.id or 0, "Bottom", AdFormat.DISPLAY, sizes, 2_500_000)
    )
    base = Campaign(
        advertiser_id=adv.id or 0,
        name="Night Drive single",
        objective=Objective.TRAFFIC,
        pricing=Pricing.CPM,
        bid_micros=4_000_000,
        budget_total_micros=100_000_000,
        start=now - timedelta(days=1),
        end=now + timedelta(days=30),
        frequency_cap=FrequencyCap(50, 24),
        targeting=Targeting(genres=frozenset({"pop"})),
    )
    camp = catalog.campaigns.add(replace(base, **campaign).validate(2_500_000))
    creative = catalog.creatives.add(
        Creative(
            advertiser_id=adv.id or 0,
            campaign_id=camp.id or 0,
            name="Cover",
            format=AdFormat.DISPLAY,
            size=Size(300, 250),
            asset_kind=AssetKind.IMAGE,
            asset_url=asset_url,
            destination_url="https://music.example.com/night-drive?ref=bb",
            destination_kind=DestinationKind.STREAMING,
            alt_text="Night Drive cover",
            review_status=ReviewStatus.APPROVED,
        )
    )
    camp = catalog.campaigns.update(replace(camp, status=CampaignStatus.ACTIVE))
    return Network(adv, pub, site, top, bottom, camp, creative)
