"""Write the demo network into a catalog: tenants, inventory, campaigns, creatives (with real
PNGs in the uploads directory), retargeting audiences and demo logins.

Everything goes through the domain objects' own validation, and campaigns and creatives take
the same path a real one does: a creative is added for review and approved, a campaign is
added as a draft and moved to active by :meth:`Campaign.transition`. What only the
simulation knows (true click appeal, viewability, conversion rates) stays in
:mod:`backbeat.sim.network` and is handed back in :class:`Seeded`, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache

from backbeat.config import Settings
from backbeat.domain.accounts import Role, User
from backbeat.domain.audience import Audience, AudienceRule, Engagement
from backbeat.domain.campaign import Campaign, CampaignStatus, Pacing, Targeting
from backbeat.domain.creative import AssetKind, Creative
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.money import MICROS, Micros
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.domain.taxonomy import AdFormat
from backbeat.errors import ValidationFailed
from backbeat.sim.images import write_creative
from backbeat.sim.network import (
    NETWORK,
    CampaignSeed,
    CreativeSeed,
    DemoNetwork,
    PlacementSeed,
    SiteSeed,
)
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.auth import hash_password

DEMO_PASSWORD = "backbeat-demo"  # noqa: S105 - the documented password of the demo logins
ADMIN_EMAIL = "admin@backbeat.example"
RETARGET_DAYS = 30


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: Role
    tenant: str  # the advertiser or publisher it belongs to; "" for the admin


@dataclass(frozen=True)
class SeededPlacement:
    seed: PlacementSeed
    placement: Placement

    @property
    def id(self) -> int:
        return self.placement.id or 0


@dataclass(frozen=True)
class SeededSite:
    seed: SiteSeed
    site: Site
    placements: tuple[SeededPlacement, ...]

    @property
    def id(self) -> int:
        return self.site.id or 0


@dataclass(frozen=True)
class SeededCreative:
    campaign: CampaignSeed
    seed: CreativeSeed
    creative: Creative

    @property
    def id(self) -> int:
        return self.creative.id or 0


@dataclass
class SeededCampaign:
    seed: CampaignSeed
    campaign: Campaign
    creatives: tuple[SeededCreative, ...]
    audience_id: int | None = None

    @property
    def id(self) -> int:
        return self.campaign.id or 0


@dataclass
class Seeded:
    """The demo network as stored, with the simulation's truth alongside."""

    network: DemoNetwork
    publishers: dict[str, int] = field(default_factory=dict)
    advertisers: dict[str, int] = field(default_factory=dict)
    sites: dict[str, SeededSite] = field(default_factory=dict)
    campaigns: dict[str, SeededCampaign] = field(default_factory=dict)
    by_asset: dict[str, SeededCreative] = field(default_factory=dict)  # asset URL -> creative
    logins: list[DemoLogin] = field(default_factory=list)


@lru_cache(maxsize=1)
def _demo_hash() -> str:
    """Argon2 is slow on purpose: hash the one demo password once per process."""
    return hash_password(DEMO_PASSWORD)


def _add_users(catalog: Catalog, seeded: Seeded) -> None:
    """One admin, one member per advertiser and per publisher, all with DEMO_PASSWORD."""
    digest = _demo_hash()
    net = seeded.network
    wanted: list[tuple[str, Role, str, int | None, int | None]] = [
        (ADMIN_EMAIL, Role.ADMIN, "", None, None)
    ]
    for a in net.advertisers:
        wanted.append((a.email, Role.ADVERTISER, a.name, seeded.advertisers[a.key], None))
    for p in net.publishers:
        wanted.append((p.email, Role.PUBLISHER, p.name, None, seeded.publishers[p.key]))
    for email, role, tenant, adv, pub in wanted:
        if catalog.users.by_email(email) is None:
            catalog.users.add(User(email, role, digest, adv, pub).validate())
        seeded.logins.append(DemoLogin(email, DEMO_PASSWORD, role, tenant))


MIN_BUDGET: Micros = MICROS // 2


def scaled(micros: Micros, factor: float) -> Micros:
    """A budget scaled with the traffic, in whole cents and at least 50 cents."""
    return max(MIN_BUDGET, round(micros * factor / 10_000) * 10_000)


def _flight(seed: CampaignSeed, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    begins = start
    if seed.starts_days_before_end is not None:
        begins = max(start, end - timedelta(days=seed.starts_days_before_end))
    return begins, end + timedelta(days=seed.days_left)


def _creative(
    settings: Settings, seeded: Seeded, seed: CampaignSeed, cr: CreativeSeed, ids: tuple[int, int]
) -> Creative:
    adv = seeded.network.advertiser(seed.advertiser)
    name = write_creative(
        settings.uploads_dir, cr.size, cr.headline, cr.tagline, cr.cta, adv.colour, adv.accent
    )
    return Creative(
        advertiser_id=ids[0],
        campaign_id=ids[1],
        name=cr.name,
        format=AdFormat.DISPLAY,
        size=cr.size,
        asset_kind=AssetKind.IMAGE,
        asset_url=f"{settings.base_url}/uploads/{name}",
        destination_url=seed.destination_url,
        destination_kind=seed.destination,
        alt_text=cr.alt,
    ).validate()


def _add_campaign(
    catalog: Catalog,
    settings: Settings,
    seeded: Seeded,
    seed: CampaignSeed,
    start: datetime,
    end: datetime,
    budget_scale: float,
) -> SeededCampaign:
    adv_id = seeded.advertisers[seed.advertiser]
    audience_id = None
    if seed.retarget is not None:
        target = seeded.campaigns[seed.retarget]
        rule = AudienceRule(Engagement.CLICKED, target.id, RETARGET_DAYS)
        audience = catalog.audiences.add(
            Audience(adv_id, f"Clicked: {target.seed.name}", rule).validate()
        )
        audience_id = audience.id
    begins, ends = _flight(seed, start, end)
    targeting = Targeting(
        genres=seed.genres,
        countries=seed.countries,
        audiences=frozenset({audience_id}) if audience_id is not None else frozenset(),
    )
    draft = Campaign(
        advertiser_id=adv_id,
        name=seed.name,
        objective=seed.objective,
        pricing=seed.pricing,
        bid_micros=seed.bid,
        budget_total_micros=scaled(seed.budget, budget_scale),
        budget_daily_micros=(
            None if seed.daily_budget is None else scaled(seed.daily_budget, budget_scale)
        ),
        start=begins,
        end=ends,
        timezone=seed.timezone,
        pacing=Pacing.EVEN,
        frequency_cap=seed.cap,
        targeting=targeting,
    ).validate(settings.floor_cpm_micros)
    campaign = catalog.campaigns.add(draft)
    cid = campaign.id or 0
    creatives = []
    for cr in seed.creatives:
        stored = catalog.creatives.add(_creative(settings, seeded, seed, cr, (adv_id, cid)))
        approved = catalog.creatives.update(stored.approve())
        creatives.append(SeededCreative(seed, cr, approved))
    live = campaign.transition(CampaignStatus.ACTIVE, approved_creatives=len(creatives), now=begins)
    campaign = catalog.campaigns.update(live)
    out = SeededCampaign(seed, campaign, tuple(creatives), audience_id)
    for sc in creatives:
        seeded.by_asset[sc.creative.asset_url] = sc
    return out


def seed_catalog(
    catalog: Catalog,
    settings: Settings,
    *,
    start: datetime,
    end: datetime,
    network: DemoNetwork = NETWORK,
    users: bool = True,
    budget_scale: float = 1.0,
) -> Seeded:
    """Store `network` in `catalog` (one transaction) for a simulation of [start, end).

    Budgets are multiplied by `budget_scale`: simulate at a traffic scale and scale the
    budgets with it, and campaigns pace the same way at any scale.

    Campaign flights start at `start` (or their own later start) and run on past `end`, so
    the live server keeps delivering after the simulation. Creative images are written to
    ``settings.uploads_dir`` and linked under ``settings.base_url``/uploads/."""
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise ValidationFailed.one("start", "start and end must be aware datetimes, start first")
    seeded = Seeded(network)
    with catalog.transaction():
        for p in network.publishers:
            pub = catalog.publishers.add(
                Publisher(p.name, p.email, p.revenue_share_pct).validate()
            )
            seeded.publishers[p.key] = pub.id or 0
        for s in network.sites:
            site = catalog.sites.add(
                Site(seeded.publishers[s.publisher], s.domain, s.name, s.country, s.genres)
                .validate()
            )
            placements = tuple(
                SeededPlacement(
                    ps,
                    catalog.placements.add(
                        Placement(
                            site.id or 0, ps.name, AdFormat.DISPLAY, frozenset({ps.size}), ps.floor
                        ).validate(settings.floor_cpm_micros)
                    ),
                )
                for ps in s.placements
            )
            seeded.sites[s.key] = SeededSite(s, site, placements)
        for a in network.advertisers:
            adv = catalog.advertisers.add(Advertiser(a.name, a.email).validate())
            seeded.advertisers[a.key] = adv.id or 0
        for c in network.campaigns:
            seeded.campaigns[c.key] = _add_campaign(
                catalog, settings, seeded, c, start, end, budget_scale
            )
        if users:
            _add_users(catalog, seeded)
    return seeded


def widen_targeting(catalog: Catalog, campaign: SeededCampaign) -> SeededCampaign:
    """The planted mistake: clear a campaign's genre targeting, as a marketer chasing volume
    would. The campaign then runs on every site, most of them outside its music's genre."""
    current = catalog.campaigns.get(campaign.id)
    updated = catalog.campaigns.update(
        replace(current, targeting=replace(current.targeting, genres=frozenset()))
    )
    campaign.campaign = updated
    return campaign
