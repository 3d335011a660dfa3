"""Domain objects with every field set, for catalog round-trip tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from backbeat.domain.accounts import ApiToken, Role, User
from backbeat.domain.audience import Audience, AudienceRule, Engagement
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
from backbeat.domain.taxonomy import AdFormat, DeviceType, Size
from backbeat.store.catalog import SqlCatalog

# Given in Berlin time with microseconds: the store must keep the instant and answer in UTC.
START = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
END = datetime(2026, 4, 30, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))
T0 = datetime(2026, 1, 15, 12, 0, 0, 654321, tzinfo=UTC)
BIG_MICROS = 9_876_543_210_123  # beyond 32 bits: money columns must be BIGINT

FULL_TARGETING = Targeting(
    genres=frozenset({"rock", "pop", "jazz"}),
    countries=frozenset({"US", "DE", "BR"}),
    devices=frozenset({DeviceType.MOBILE, DeviceType.DESKTOP}),
    sites_include=frozenset({30, 4, 12}),
    sites_exclude=frozenset({7, 99}),
    formats=frozenset({AdFormat.DISPLAY, AdFormat.VIDEO}),
    sizes=frozenset({Size(728, 90), Size(300, 250), Size(160, 600)}),
    days=frozenset({5, 0, 6}),
    hours=frozenset({23, 0, 12}),
    audiences=frozenset({3, 1}),
)


class Stored(Protocol):
    """A domain object the catalog gives an id when it is added."""

    @property
    def id(self) -> int | None: ...


def ident(entity: Stored) -> int:
    """The id of an object the catalog returned (set on every stored object)."""
    assert entity.id is not None, f"not stored: {entity!r}"
    return entity.id


def advertiser(name: str = "Nightjar Records", **kw: Any) -> Advertiser:
    return replace(Advertiser(name=name, contact_email="ads@nightjar.example"), **kw)


def publisher(name: str = "Lyric Vault", **kw: Any) -> Publisher:
    base = Publisher(name=name, contact_email="sales@lyricvault.example", revenue_share_pct=65)
    return replace(base, **kw)


def campaign(advertiser_id: int, name: str = "Spring single", **kw: Any) -> Campaign:
    base = Campaign(
        advertiser_id=advertiser_id,
        name=name,
        objective=Objective.TRAFFIC,
        pricing=Pricing.CPM,
        bid_micros=3_250_000,
        budget_total_micros=BIG_MICROS,
        budget_daily_micros=150_000_000,
        start=START,
        end=END,
        timezone="Europe/Berlin",
        pacing=Pacing.ASAP,
        frequency_cap=FrequencyCap(impressions=3, hours=24),
        targeting=FULL_TARGETING,
        status=CampaignStatus.PAUSED,
    )
    return replace(base, **kw)


def creative(advertiser_id: int, campaign_id: int, name: str = "Banner", **kw: Any) -> Creative:
    base = Creative(
        advertiser_id=advertiser_id,
        campaign_id=campaign_id,
        name=name,
        format=AdFormat.DISPLAY,
        size=Size(300, 250),
        asset_kind=AssetKind.IMAGE,
        asset_url="https://cdn.nightjar.example/a.png",
        destination_url="https://open.spotify.example/track/1",
        destination_kind=DestinationKind.STREAMING,
        alt_text="Cover art of the single",
        review_status=ReviewStatus.REJECTED,
        rejection_reason="logo too small",
    )
    return replace(base, **kw)


def site(publisher_id: int, domain: str = "lyricvault.example", **kw: Any) -> Site:
    base = Site(
        publisher_id=publisher_id,
        domain=domain,
        name="Lyric Vault",
        country="GB",
        genres=frozenset({"rock", "metal", "punk"}),
    )
    return replace(base, **kw)


def placement(site_id: int, name: str = "Sidebar", **kw: Any) -> Placement:
    base = Placement(
        site_id=site_id,
        name=name,
        format=AdFormat.DISPLAY,
        sizes=frozenset({Size(300, 600), Size(160, 600), Size(300, 250)}),
        floor_cpm_micros=2_750_000,
        active=False,
    )
    return replace(base, **kw)


def audience(advertiser_id: int, campaign_id: int, name: str = "Clickers", **kw: Any) -> Audience:
    rule = AudienceRule(Engagement.CLICKED, campaign_id=campaign_id, days=30, min_count=2)
    return replace(Audience(advertiser_id=advertiser_id, name=name, rule=rule), **kw)


def user(email: str = "Ann.Lee@Nightjar.example", **kw: Any) -> User:
    base = User(
        email=email,
        role=Role.ADVERTISER,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        active=False,
    )
    return replace(base, **kw)


def token(user_id: int, token_hash: str = "a" * 64, **kw: Any) -> ApiToken:
    base = ApiToken(
        user_id=user_id,
        token_hash=token_hash,
        name="CI upload",
        prefix="bb_3fA9",
        created_at=T0,
        expires_at=T0 + timedelta(days=90),
        revoked_at=T0 + timedelta(days=10, microseconds=5),
        last_used_at=T0 + timedelta(hours=1),
    )
    return replace(base, **kw)


@dataclass(frozen=True)
class World:
    """One of everything, stored: the parents most tests need."""

    advertiser: Advertiser
    publisher: Publisher
    campaign: Campaign
    site: Site

    @property
    def adv_id(self) -> int:
        assert self.advertiser.id is not None
        return self.advertiser.id

    @property
    def pub_id(self) -> int:
        assert self.publisher.id is not None
        return self.publisher.id

    @property
    def campaign_id(self) -> int:
        assert self.campaign.id is not None
        return self.campaign.id

    @property
    def site_id(self) -> int:
        assert self.site.id is not None
        return self.site.id


def build_world(cat: SqlCatalog) -> World:
    adv = cat.advertisers.add(advertiser())
    pub = cat.publishers.add(publisher())
    assert adv.id is not None and pub.id is not None
    camp = cat.campaigns.add(campaign(adv.id))
    st = cat.sites.add(site(pub.id))
    return World(adv, pub, camp, st)
