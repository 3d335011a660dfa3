"""Campaigns: CRUD, targeting, and lifecycle transitions (POST /campaigns/{id}/status)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, Field

from backbeat.domain.campaign import (
    Campaign,
    CampaignStatus,
    FrequencyCap,
    Objective,
    Pacing,
    Pricing,
    Targeting,
)
from backbeat.domain.creative import ReviewStatus
from backbeat.domain.rules import Problems
from backbeat.domain.taxonomy import (
    SIZES_BY_FORMAT,
    AdFormat,
    DeviceType,
    Size,
    check_countries,
    check_genres,
)
from backbeat.errors import NotFound, ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api.common import (
    MoneyIn,
    Out,
    PageOut,
    Paging,
    Strict,
    list_page,
    micros,
    money,
    patch_fields,
)
from backbeat.web.api.deps import CatalogDep, ClockDep, ScopeDep, SettingsDep
from backbeat.web.api.tenancy import Scope

router = APIRouter(tags=["campaigns"])
IdList = Annotated[list[int], Field(max_length=1000)]


class FrequencyCapIn(Strict):
    impressions: int
    hours: int


class TargetingIn(Strict):
    genres: Annotated[list[str], Field(max_length=50)] = []
    countries: Annotated[list[str], Field(max_length=250)] = []
    devices: list[DeviceType] = []
    sites_include: IdList = []
    sites_exclude: IdList = []
    formats: list[AdFormat] = []
    sizes: Annotated[list[str], Field(max_length=30)] = []
    days: Annotated[list[int], Field(max_length=7)] = []
    hours: Annotated[list[int], Field(max_length=24)] = []
    audiences: IdList = []


class CampaignIn(Strict):
    advertiser_id: int | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    objective: Objective
    pricing: Pricing = Pricing.CPM
    bid: MoneyIn
    budget_total: MoneyIn
    budget_daily: MoneyIn | None = None
    start: AwareDatetime
    end: AwareDatetime
    timezone: Annotated[str, Field(max_length=64)] = "UTC"
    pacing: Pacing = Pacing.EVEN
    frequency_cap: FrequencyCapIn | None = None
    targeting: TargetingIn = TargetingIn()


class CampaignPatch(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    objective: Objective | None = None
    pricing: Pricing | None = None
    bid: MoneyIn | None = None
    budget_total: MoneyIn | None = None
    budget_daily: MoneyIn | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    pacing: Pacing | None = None
    frequency_cap: FrequencyCapIn | None = None
    targeting: TargetingIn | None = None


class StatusIn(Strict):
    status: CampaignStatus


class TargetingOut(Out):
    genres: list[str]
    countries: list[str]
    devices: list[str]
    sites_include: list[int]
    sites_exclude: list[int]
    formats: list[str]
    sizes: list[str]
    days: list[int]
    hours: list[int]
    audiences: list[int]


class CampaignOut(Out):
    id: int
    advertiser_id: int
    name: str
    objective: Objective
    pricing: Pricing
    bid: str
    budget_total: str
    budget_daily: str | None
    start: datetime
    end: datetime
    timezone: str
    pacing: Pacing
    frequency_cap: FrequencyCapIn | None
    targeting: TargetingOut
    status: CampaignStatus
    created_at: datetime | None


def targeting_from(body: TargetingIn) -> Targeting:
    p = Problems()
    genres: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    sizes: set[Size] = set()
    try:
        genres = check_genres(body.genres, "targeting.genres")
    except ValidationFailed as exc:
        p.capture(exc)
    try:
        countries = check_countries(body.countries, "targeting.countries")
    except ValidationFailed as exc:
        p.capture(exc)
    for text in body.sizes:
        try:
            size = Size.parse(text, "targeting.sizes")
        except ValidationFailed as exc:
            p.capture(exc)
            continue
        if not any(size in allowed for allowed in SIZES_BY_FORMAT.values()):
            p.add("targeting.sizes", f"{size} is not a supported size")
        sizes.add(size)
    p.raise_if_any()
    return Targeting(
        genres=genres,
        countries=countries,
        devices=frozenset(body.devices),
        sites_include=frozenset(body.sites_include),
        sites_exclude=frozenset(body.sites_exclude),
        formats=frozenset(body.formats),
        sizes=frozenset(sizes),
        days=frozenset(body.days),
        hours=frozenset(body.hours),
        audiences=frozenset(body.audiences),
    )


def render(c: Campaign) -> CampaignOut:
    t = c.targeting
    assert c.id is not None
    return CampaignOut(
        id=c.id,
        advertiser_id=c.advertiser_id,
        name=c.name,
        objective=c.objective,
        pricing=c.pricing,
        bid=money(c.bid_micros) or "0",
        budget_total=money(c.budget_total_micros) or "0",
        budget_daily=money(c.budget_daily_micros),
        start=c.start,
        end=c.end,
        timezone=c.timezone,
        pacing=c.pacing,
        frequency_cap=(
            FrequencyCapIn(impressions=c.frequency_cap.impressions, hours=c.frequency_cap.hours)
            if c.frequency_cap
            else None
        ),
        targeting=TargetingOut(
            genres=sorted(t.genres),
            countries=sorted(t.countries),
            devices=sorted(d.value for d in t.devices),
            sites_include=sorted(t.sites_include),
            sites_exclude=sorted(t.sites_exclude),
            formats=sorted(f.value for f in t.formats),
            sizes=[str(s) for s in sorted(t.sizes)],
            days=sorted(t.days),
            hours=sorted(t.hours),
            audiences=sorted(t.audiences),
        ),
        status=c.status,
        created_at=c.created_at,
    )


def check_references(catalog: Catalog, scope: Scope, c: Campaign) -> None:
    """Audiences must be the advertiser's own; listed sites must exist."""
    for aid in c.targeting.audiences:
        audience = catalog.audiences.find(aid)
        if audience is None or audience.advertiser_id != c.advertiser_id:
            raise ValidationFailed.one("targeting.audiences", f"audience {aid} not found")
    for sid in c.targeting.sites_include | c.targeting.sites_exclude:
        if catalog.sites.find(sid) is None:
            raise ValidationFailed.one("targeting.sites_include", f"site {sid} not found")
    if catalog.advertisers.find(c.advertiser_id) is None:
        raise NotFound("advertiser", c.advertiser_id)
    del scope


def load(catalog: Catalog, scope: Scope, campaign_id: int) -> Campaign:
    campaign = catalog.campaigns.find(campaign_id)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    scope.check_advertiser(campaign.advertiser_id, "campaign", campaign_id)
    return campaign


@router.get("/campaigns", response_model=PageOut[CampaignOut])
def list_campaigns(
    catalog: CatalogDep,
    scope: ScopeDep,
    paging: Annotated[Paging, Depends()],
    advertiser_id: int | None = None,
    status: CampaignStatus | None = None,
    objective: Objective | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> PageOut[CampaignOut]:
    where: dict[str, Any] = {"advertiser_id": advertiser_id, "status": status, "q": q}
    where["objective"] = objective
    scoped = scope.advertiser_where()
    if scoped and advertiser_id not in (None, scoped["advertiser_id"]):
        raise NotFound("advertiser", advertiser_id)
    where.update(scoped)
    return list_page(catalog.campaigns, paging, where, render)


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
def create_campaign(
    body: CampaignIn, catalog: CatalogDep, scope: ScopeDep, settings: SettingsDep
) -> CampaignOut:
    advertiser_id = scope.owning_advertiser(body.advertiser_id)
    campaign = Campaign(
        advertiser_id=advertiser_id,
        name=body.name,
        objective=body.objective,
        pricing=body.pricing,
        bid_micros=micros(body.bid, "bid") or 0,
        budget_total_micros=micros(body.budget_total, "budget_total") or 0,
        budget_daily_micros=micros(body.budget_daily, "budget_daily"),
        start=body.start,
        end=body.end,
        timezone=body.timezone,
        pacing=body.pacing,
        frequency_cap=(
            FrequencyCap(body.frequency_cap.impressions, body.frequency_cap.hours)
            if body.frequency_cap
            else None
        ),
        targeting=targeting_from(body.targeting),
    ).validate(settings.floor_cpm_micros)
    with catalog.transaction():
        check_references(catalog, scope, campaign)
        return render(catalog.campaigns.add(campaign))


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: int, catalog: CatalogDep, scope: ScopeDep) -> CampaignOut:
    return render(load(catalog, scope, campaign_id))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
def update_campaign(
    campaign_id: int,
    body: CampaignPatch,
    catalog: CatalogDep,
    scope: ScopeDep,
    settings: SettingsDep,
) -> CampaignOut:
    sent = patch_fields(body)
    with catalog.transaction():
        current = load(catalog, scope, campaign_id)
        changes: dict[str, Any] = {}
        for key in ("name", "objective", "pricing", "start", "end", "timezone", "pacing"):
            if key in sent:
                changes[key] = getattr(body, key)
        for key in ("bid", "budget_total", "budget_daily"):
            if key in sent:
                changes[f"{key}_micros"] = micros(getattr(body, key), key)
        if "frequency_cap" in sent:
            cap = body.frequency_cap
            changes["frequency_cap"] = FrequencyCap(cap.impressions, cap.hours) if cap else None
        if "targeting" in sent:
            changes["targeting"] = targeting_from(body.targeting or TargetingIn())
        for required in ("bid_micros", "budget_total_micros", "name", "start", "end"):
            if required in changes and changes[required] is None:
                raise ValidationFailed.one(required.removesuffix("_micros"), "may not be null")
        updated = replace(current, **changes).validate(settings.floor_cpm_micros)
        check_references(catalog, scope, updated)
        return render(catalog.campaigns.update(updated))


@router.post("/campaigns/{campaign_id}/status", response_model=CampaignOut)
def change_status(
    campaign_id: int, body: StatusIn, catalog: CatalogDep, scope: ScopeDep, clock: ClockDep
) -> CampaignOut:
    with catalog.transaction():
        current = load(catalog, scope, campaign_id)
        approved = len(
            catalog.creatives.all(
                {"campaign_id": campaign_id, "review_status": ReviewStatus.APPROVED.value}
            )
        )
        moved = current.transition(body.status, approved_creatives=approved, now=clock())
        return render(catalog.campaigns.update(moved))


@router.delete("/campaigns/{campaign_id}", status_code=204)
def delete_campaign(campaign_id: int, catalog: CatalogDep, scope: ScopeDep) -> None:
    with catalog.transaction():
        campaign = load(catalog, scope, campaign_id)
        if campaign.status is not CampaignStatus.DRAFT:
            raise ValidationFailed.one(
                "status", "only draft campaigns can be deleted; archive the others"
            )
        for creative in catalog.creatives.all({"campaign_id": campaign_id}):
            assert creative.id is not None
            catalog.creatives.delete(creative.id)
        catalog.campaigns.delete(campaign_id)
