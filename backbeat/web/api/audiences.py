"""Retargeting audiences: rules over engagement with the advertiser's own campaigns."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from backbeat.domain.audience import Audience, AudienceRule, Engagement
from backbeat.errors import NotFound, ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api.common import Out, PageOut, Paging, Strict, list_page, patch_fields
from backbeat.web.api.deps import CatalogDep, ScopeDep
from backbeat.web.api.tenancy import Scope

router = APIRouter(tags=["audiences"])


class RuleIn(Strict):
    engagement: Engagement
    campaign_id: int
    days: int
    min_count: int = 1


class AudienceIn(Strict):
    advertiser_id: int | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    rule: RuleIn


class AudiencePatch(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    rule: RuleIn | None = None


class AudienceOut(Out):
    id: int
    advertiser_id: int
    name: str
    rule: RuleIn
    description: str
    created_at: datetime | None


def render(a: Audience) -> AudienceOut:
    assert a.id is not None
    r = a.rule
    return AudienceOut(
        id=a.id,
        advertiser_id=a.advertiser_id,
        name=a.name,
        rule=RuleIn(
            engagement=r.engagement,
            campaign_id=r.campaign_id,
            days=r.days,
            min_count=r.min_count,
        ),
        description=r.describe(),
        created_at=a.created_at,
    )


def _rule(catalog: Catalog, advertiser_id: int, body: RuleIn) -> AudienceRule:
    campaign = catalog.campaigns.find(body.campaign_id)
    if campaign is None or campaign.advertiser_id != advertiser_id:
        raise ValidationFailed.one("rule.campaign_id", f"campaign {body.campaign_id} not found")
    return AudienceRule(body.engagement, body.campaign_id, body.days, body.min_count)


def load(catalog: Catalog, scope: Scope, audience_id: int) -> Audience:
    audience = catalog.audiences.find(audience_id)
    if audience is None:
        raise NotFound("audience", audience_id)
    scope.check_advertiser(audience.advertiser_id, "audience", audience_id)
    return audience


@router.get("/audiences", response_model=PageOut[AudienceOut])
def list_audiences(
    catalog: CatalogDep,
    scope: ScopeDep,
    paging: Annotated[Paging, Depends()],
    advertiser_id: int | None = None,
) -> PageOut[AudienceOut]:
    scoped = scope.advertiser_where()
    if scoped and advertiser_id not in (None, scoped["advertiser_id"]):
        raise NotFound("advertiser", advertiser_id)
    where: dict[str, Any] = {"advertiser_id": advertiser_id, **scoped}
    return list_page(catalog.audiences, paging, where, render)


@router.post("/audiences", response_model=AudienceOut, status_code=201)
def create_audience(body: AudienceIn, catalog: CatalogDep, scope: ScopeDep) -> AudienceOut:
    advertiser_id = scope.owning_advertiser(body.advertiser_id)
    with catalog.transaction():
        rule = _rule(catalog, advertiser_id, body.rule)
        audience = Audience(advertiser_id=advertiser_id, name=body.name, rule=rule).validate()
        return render(catalog.audiences.add(audience))


@router.get("/audiences/{audience_id}", response_model=AudienceOut)
def get_audience(audience_id: int, catalog: CatalogDep, scope: ScopeDep) -> AudienceOut:
    return render(load(catalog, scope, audience_id))


@router.patch("/audiences/{audience_id}", response_model=AudienceOut)
def update_audience(
    audience_id: int, body: AudiencePatch, catalog: CatalogDep, scope: ScopeDep
) -> AudienceOut:
    sent = patch_fields(body)
    with catalog.transaction():
        current = load(catalog, scope, audience_id)
        changes: dict[str, Any] = {}
        if sent.get("name") is not None:
            changes["name"] = body.name
        if body.rule is not None:
            changes["rule"] = _rule(catalog, current.advertiser_id, body.rule)
        return render(catalog.audiences.update(replace(current, **changes).validate()))


@router.delete("/audiences/{audience_id}", status_code=204)
def delete_audience(audience_id: int, catalog: CatalogDep, scope: ScopeDep) -> None:
    with catalog.transaction():
        load(catalog, scope, audience_id)
        in_use = [
            c.id
            for c in catalog.campaigns.all(scope.advertiser_where())
            if audience_id in c.targeting.audiences
        ]
        if in_use:
            raise ValidationFailed.one("id", f"audience is targeted by campaigns {in_use}")
        catalog.audiences.delete(audience_id)
