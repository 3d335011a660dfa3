"""A small network in a real catalog, and campaign events with planted truths written
through the real DuckDB event store, for the facts, service, export, API and CLI tests.

Clicks are deterministic: of `impressions` impressions with `clicks` clicks, the first
`clicks` decisions are clicked, each click carrying its impression's decision id and
visitor. Impressions are spread evenly over [start, end)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from backbeat.domain.campaign import Campaign, CampaignStatus, Objective, Pricing, Targeting
from backbeat.domain.creative import AssetKind, Creative, DestinationKind, ReviewStatus
from backbeat.domain.events import DropReason, Event, EventType
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.store.catalog.protocol import Catalog
from backbeat.store.events.protocol import EventStore

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
PRICE = 4_000  # micros per impression at a $4.00 CPM
_seq = itertools.count(1)


@dataclass
class World:
    catalog: Catalog
    advertiser: Advertiser
    rival: Advertiser
    publisher: Publisher
    radio: Publisher
    pop: Site
    rock: Site
    metal: Site
    pop_top: Placement
    pop_bottom: Placement
    rock_side: Placement
    metal_banner: Placement
    campaign: Campaign
    creatives: dict[str, Creative] = field(default_factory=dict)

    def ident(self, obj: object) -> int:
        value = getattr(obj, "id", None)
        assert isinstance(value, int)
        return value


def _creative(catalog: Catalog, campaign: Campaign, name: str) -> Creative:
    return catalog.creatives.add(
        Creative(
            advertiser_id=campaign.advertiser_id,
            campaign_id=campaign.id or 0,
            name=name,
            format=AdFormat.DISPLAY,
            size=Size(300, 250),
            asset_kind=AssetKind.IMAGE,
            asset_url="https://cdn.example.com/a.png",
            destination_url="https://music.example.com/night-drive",
            destination_kind=DestinationKind.STREAMING,
            alt_text=f"{name} artwork",
            review_status=ReviewStatus.APPROVED,
        )
    )


def add_campaign(
    catalog: Catalog,
    advertiser: Advertiser,
    name: str,
    creatives: Sequence[str],
    **kw: object,
) -> tuple[Campaign, dict[str, Creative]]:
    base = Campaign(
        advertiser_id=advertiser.id or 0,
        name=name,
        objective=Objective.TRAFFIC,
        pricing=Pricing.CPM,
        bid_micros=4_000_000,
        budget_total_micros=1_000_000_000,
        start=NOW - timedelta(days=14),
        end=NOW + timedelta(days=16),
        timezone="America/New_York",
        targeting=Targeting(genres=frozenset({"pop"})),
    )
    campaign = catalog.campaigns.add(replace(base, **kw).validate(2_500_000))  # type: ignore[arg-type]
    made = {n: _creative(catalog, campaign, n) for n in creatives}
    campaign = catalog.campaigns.update(replace(campaign, status=CampaignStatus.ACTIVE))
    return campaign, made


def build_world(
    catalog: Catalog,
    creatives: Sequence[str] = ("Cover", "Lyric card", "Tour poster"),
    advertiser: Advertiser | None = None,
    publisher: Publisher | None = None,
    rival: Advertiser | None = None,
    radio: Publisher | None = None,
) -> World:
    """Sites: Pop Lyrics (pop, two placements, publisher Lyrics Hub at 70%), Rock Radio
    (rock) and Metal Blog (metal) of Indie Radio at 60%; the campaign targets pop."""
    adv = advertiser or catalog.advertisers.add(Advertiser("Nova Lux"))
    rival = rival or catalog.advertisers.add(Advertiser("Granite Records"))
    pub = publisher or catalog.publishers.add(Publisher("Lyrics Hub", revenue_share_pct=70))
    radio = radio or catalog.publishers.add(Publisher("Indie Radio", revenue_share_pct=60))
    sizes = frozenset({Size(300, 250)})

    def site(owner: Publisher, domain: str, name: str, genre: str) -> Site:
        return catalog.sites.add(Site(owner.id or 0, domain, name, "US", frozenset({genre})))

    def slot(s: Site, name: str) -> Placement:
        return catalog.placements.add(
            Placement(s.id or 0, name, AdFormat.DISPLAY, sizes, 2_500_000)
        )

    pop = site(pub, "poplyrics.example.com", "Pop Lyrics", "pop")
    rock = site(radio, "rockradio.example.com", "Rock Radio", "rock")
    metal = site(radio, "metalblog.example.com", "Metal Blog", "metal")
    campaign, made = add_campaign(catalog, adv, "Night Drive single", creatives)
    return World(
        catalog,
        adv,
        rival,
        pub,
        radio,
        pop,
        rock,
        metal,
        slot(pop, "Top"),
        slot(pop, "Bottom"),
        slot(rock, "Sidebar"),
        slot(metal, "Banner"),
        campaign,
        made,
    )


def _id(ts: datetime) -> str:
    return f"{int(ts.timestamp() * 1000):013d}-{next(_seq):09d}"


@dataclass(frozen=True)
class Slot:
    """Where an ad ran: a campaign's creative on a site's placement (no campaign: no fill)."""

    campaign: Campaign | None
    creative: Creative | None
    site: Site
    placement: Placement

    @property
    def genre_match(self) -> bool:
        c = self.campaign
        return c is not None and bool(c.targeting.genres & self.site.genres)


def event(
    ts: datetime,
    type: EventType,
    slot: Slot,
    decision_id: str,
    visitor: str,
    *,
    valid: bool = True,
    drop_reason: DropReason | None = None,
    price_micros: int = 0,
    country: str = "US",
    device: str = "mobile",
) -> Event:
    campaign, creative, site = slot.campaign, slot.creative, slot.site
    return Event(
        id=_id(ts),
        ts=ts,
        type=type,
        valid=valid,
        decision_id=decision_id,
        campaign_id=campaign.id or 0 if campaign else 0,
        creative_id=creative.id or 0 if creative else 0,
        advertiser_id=campaign.advertiser_id if campaign else 0,
        site_id=site.id or 0 if campaign else 0,
        publisher_id=site.publisher_id if campaign else 0,
        placement_id=slot.placement.id or 0,
        visitor=visitor,
        country=country,
        device=device,
        format="display" if campaign else "",
        size="300x250" if campaign else "",
        genre=min(site.genres),
        genre_match=slot.genre_match,
        objective=campaign.objective.value if campaign else "",
        price_micros=price_micros,
        drop_reason=drop_reason if not valid else None,
    )


def deliver(
    store: EventStore,
    campaign: Campaign,
    creative: Creative,
    site: Site,
    placement: Placement,
    *,
    impressions: int,
    clicks: int = 0,
    start: datetime = NOW - timedelta(days=10),
    end: datetime = NOW - timedelta(hours=1),
    viewable: int = 0,
    invalid: dict[DropReason, int] | None = None,
    visitors: Sequence[str] | None = None,
    country: str = "US",
    device: str = "mobile",
) -> None:
    """Write `impressions` valid impressions (billed at :data:`PRICE`), `clicks` clicks on
    the first of them, `viewable` viewable events, and invalid impressions by reason."""
    slot = Slot(campaign, creative, site, placement)
    step = (end - start) / max(impressions, 1)
    events: list[Event] = []
    for i in range(impressions):
        ts = start + step * i
        decision = f"d{next(_seq)}"
        who = visitors[i % len(visitors)] if visitors else f"v{decision}"
        events.append(event(ts, EventType.IMPRESSION, slot, decision, who, price_micros=PRICE,
                            country=country, device=device))  # fmt: skip
        if i < viewable:
            events.append(event(ts + timedelta(seconds=1), EventType.VIEWABLE, slot, decision,
                                who, country=country, device=device))  # fmt: skip
        if i < clicks:
            events.append(event(ts + timedelta(seconds=5), EventType.CLICK, slot, decision, who,
                                country=country, device=device))  # fmt: skip
    for reason, count in (invalid or {}).items():
        for i in range(count):
            events.append(
                event(
                    start + (end - start) * i / count,
                    EventType.IMPRESSION,
                    slot,
                    f"d{next(_seq)}",
                    f"bot{i}",
                    valid=False,
                    drop_reason=reason,
                )
            )
    for i in range(0, len(events), 20_000):
        store.append_batch(events[i : i + 20_000])


def decisions(
    store: EventStore,
    placement: Placement,
    site: Site,
    *,
    filled: int,
    unfilled: int,
    campaign: Campaign | None = None,
    start: datetime = NOW - timedelta(days=7),
    spacing: timedelta = timedelta(minutes=1),
    visitors: int = 10,
) -> None:
    """Valid decisions on `placement`, `spacing` apart: first `filled` for `campaign`, then
    `unfilled` with no ad; visitors h0..h<visitors - 1> in turn."""
    out = []
    for i in range(filled + unfilled):
        ts = start + spacing * i
        slot = Slot(campaign if i < filled else None, None, site, placement)
        out.append(event(ts, EventType.DECISION, slot, f"d{next(_seq)}", f"h{i % visitors}"))
    store.append_batch(out)
