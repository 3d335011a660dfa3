"""The live network the browser tests run against, written straight into a catalog.

One publisher site (`lyricshub.test`) with two 300x250 placements ("Top" and "Bottom") and a
728x90 "Leaderboard" that no campaign can fill; two active CPM campaigns (the decider never
puts one campaign in two slots of a page), each with an approved image creative whose
asset and destination are served by the test's page server, so the browser really loads
the image and really lands after a click.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.store.catalog import open_catalog
from backbeat.store.catalog.protocol import Catalog
from tests.browser.site import SITE_HOST, PageServer, page
from tests.web.network import SITE_DOMAIN

FLOOR_MICROS = 2_500_000


@dataclass(frozen=True)
class AdCampaign:
    """One campaign with its single creative, as the browser sees it."""

    id: int
    name: str
    creative_id: int
    image_path: str  # path of the creative's PNG on the page server
    landing_path: str  # path of the destination page on the page server


@dataclass(frozen=True)
class AdNetwork:
    site_id: int
    top: int
    bottom: int
    leaderboard: int  # no campaign has a creative of its size: always a no-fill
    campaigns: tuple[AdCampaign, AdCampaign]

    def campaign(self, campaign_id: int) -> AdCampaign:
        return next(c for c in self.campaigns if c.id == campaign_id)


_CAMPAIGNS = (
    ("Night Drive single", "/img/night-drive.png", "/night-drive"),
    ("City Lights album", "/img/city-lights.png", "/city-lights"),
)
IMAGES = tuple(image for _, image, _ in _CAMPAIGNS)
LANDINGS = tuple(landing for _, _, landing in _CAMPAIGNS)


def _campaign(
    catalog: Catalog,
    advertiser_id: int,
    name: str,
    image: str,
    path: str,
    *,
    assets: str,
    landing: str,
) -> AdCampaign:
    now = datetime.now(UTC)
    camp = catalog.campaigns.add(
        Campaign(
            advertiser_id=advertiser_id,
            name=name,
            objective=Objective.TRAFFIC,
            pricing=Pricing.CPM,
            bid_micros=4_000_000,
            budget_total_micros=100_000_000,
            start=now - timedelta(days=1),
            end=now + timedelta(days=30),
            pacing=Pacing.ASAP,  # even pacing may sit out a request: these tests need a fill
            frequency_cap=FrequencyCap(50, 24),
            targeting=Targeting(genres=frozenset({"pop"})),
        ).validate(FLOOR_MICROS)
    )
    creative = catalog.creatives.add(
        Creative(
            advertiser_id=advertiser_id,
            campaign_id=camp.id or 0,
            name=f"{name} cover",
            format=AdFormat.DISPLAY,
            size=Size(300, 250),
            asset_kind=AssetKind.IMAGE,
            asset_url=assets + image,
            destination_url=f"{landing}{path}?ref=bb",
            destination_kind=DestinationKind.STREAMING,
            alt_text=f"{name} cover art",
            review_status=ReviewStatus.APPROVED,
        ).validate()
    )
    catalog.campaigns.update(replace(camp, status=CampaignStatus.ACTIVE))
    return AdCampaign(camp.id or 0, name, creative.id or 0, image, path)


def write_network(catalog_url: str, *, assets: str, landing: str) -> AdNetwork:
    """Write the network into the catalog at `catalog_url` (already migrated).

    `assets` is the origin serving the creatives' images, `landing` the origin of the
    advertisers' destination pages."""
    catalog = open_catalog(catalog_url)
    try:
        adv = catalog.advertisers.add(Advertiser("Nova Lux"))
        pub = catalog.publishers.add(Publisher("Lyrics Hub"))
        site = catalog.sites.add(
            Site(pub.id or 0, SITE_DOMAIN, "Lyrics Hub", "US", frozenset({"pop"}))
        )
        site_id = site.id or 0
        rect = frozenset({Size(300, 250)})

        def placement(name: str, sizes: frozenset[Size]) -> int:
            added = catalog.placements.add(
                Placement(site_id, name, AdFormat.DISPLAY, sizes, FLOOR_MICROS)
            )
            return added.id or 0

        top, bottom = placement("Top", rect), placement("Bottom", rect)
        leaderboard = placement("Leaderboard", frozenset({Size(728, 90)}))
        first, second = (
            _campaign(catalog, adv.id or 0, *spec, assets=assets, landing=landing)
            for spec in _CAMPAIGNS
        )
    finally:
        catalog.close()
    return AdNetwork(site_id, top, bottom, leaderboard, (first, second))


def publisher_page(page_server: PageServer, network: AdNetwork, ad_server: str) -> str:
    """The URL of a lyrics page on the publisher's site with the network's two slots, the
    top one in view and the bottom one below the fold."""
    path = page_server.add(
        "/songs/night-drive",
        page("publisher.html", top=network.top, bottom=network.bottom, ad_server=ad_server),
    )
    return page_server.origin(SITE_HOST) + path
