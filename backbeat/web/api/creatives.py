"""Creatives: create (by URL or image upload), edit (back to review), and admin review."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import Field

from backbeat.domain.creative import AssetKind, Creative, DestinationKind, ReviewStatus
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.errors import NotFound, ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api import campaigns
from backbeat.web.api.common import Out, PageOut, Paging, Strict, list_page, patch_fields
from backbeat.web.api.deps import CatalogDep, ScopeDep, SettingsDep
from backbeat.web.api.tenancy import Scope
from backbeat.web.api.uploads import check_image, store_image

router = APIRouter(tags=["creatives"])
Text200 = Annotated[str, Field(min_length=1, max_length=200)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]


class CreativeIn(Strict):
    campaign_id: int
    name: Text200
    format: AdFormat
    size: Annotated[str, Field(max_length=20)]
    asset_kind: AssetKind
    asset_url: Url
    destination_url: Url
    destination_kind: DestinationKind
    alt_text: Annotated[str, Field(max_length=300)] = ""


class CreativePatch(Strict):
    name: Text200 | None = None
    asset_url: Url | None = None
    destination_url: Url | None = None
    destination_kind: DestinationKind | None = None
    alt_text: Annotated[str, Field(max_length=300)] | None = None


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ReviewIn(Strict):
    decision: ReviewDecision
    reason: Annotated[str, Field(max_length=500)] | None = None


class CreativeOut(Out):
    id: int
    advertiser_id: int
    campaign_id: int
    name: str
    format: AdFormat
    size: str
    asset_kind: AssetKind
    asset_url: str
    destination_url: str
    destination_kind: DestinationKind
    alt_text: str
    review_status: ReviewStatus
    rejection_reason: str | None
    created_at: datetime | None


def render(c: Creative) -> CreativeOut:
    data = {k: getattr(c, k) for k in CreativeOut.model_fields if k != "size"}
    return CreativeOut(**data, size=str(c.size))


def load(catalog: Catalog, scope: Scope, creative_id: int) -> Creative:
    creative = catalog.creatives.find(creative_id)
    if creative is None:
        raise NotFound("creative", creative_id)
    scope.check_advertiser(creative.advertiser_id, "creative", creative_id)
    return creative


def add_creative(catalog: Catalog, scope: Scope, draft: Creative) -> Creative:
    campaign = campaigns.load(catalog, scope, draft.campaign_id)
    return catalog.creatives.add(replace(draft, advertiser_id=campaign.advertiser_id).validate())


@router.get("/creatives", response_model=PageOut[CreativeOut])
def list_creatives(
    catalog: CatalogDep,
    scope: ScopeDep,
    paging: Annotated[Paging, Depends()],
    campaign_id: int | None = None,
    review_status: ReviewStatus | None = None,
    advertiser_id: int | None = None,
) -> PageOut[CreativeOut]:
    scoped = scope.advertiser_where()
    if scoped and advertiser_id not in (None, scoped["advertiser_id"]):
        raise NotFound("advertiser", advertiser_id)
    where: dict[str, Any] = {
        "campaign_id": campaign_id,
        "review_status": review_status,
        "advertiser_id": advertiser_id,
        **scoped,
    }
    return list_page(catalog.creatives, paging, where, render)


@router.post("/creatives", response_model=CreativeOut, status_code=201)
def create_creative(body: CreativeIn, catalog: CatalogDep, scope: ScopeDep) -> CreativeOut:
    draft = Creative(
        advertiser_id=0,
        campaign_id=body.campaign_id,
        name=body.name,
        format=body.format,
        size=Size.parse(body.size),
        asset_kind=body.asset_kind,
        asset_url=body.asset_url,
        destination_url=body.destination_url,
        destination_kind=body.destination_kind,
        alt_text=body.alt_text,
    )
    with catalog.transaction():
        return render(add_creative(catalog, scope, draft))


@router.post("/creatives/upload", response_model=CreativeOut, status_code=201)
async def upload_creative(
    catalog: CatalogDep,
    scope: ScopeDep,
    settings: SettingsDep,
    campaign_id: Annotated[int, Form()],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    size: Annotated[str, Form(max_length=20)],
    destination_url: Annotated[str, Form(min_length=1, max_length=2048)],
    destination_kind: Annotated[DestinationKind, Form()],
    alt_text: Annotated[str, Form(min_length=1, max_length=300)],
    file: Annotated[UploadFile, File()],
    format: Annotated[AdFormat, Form()] = AdFormat.DISPLAY,
) -> CreativeOut:
    declared = Size.parse(size)
    data = await file.read(settings.max_upload_bytes + 1)
    ext = check_image(data, declared, settings.max_upload_bytes)
    campaigns.load(catalog, scope, campaign_id)  # tenant check before anything is written
    draft = Creative(
        advertiser_id=0,
        campaign_id=campaign_id,
        name=name,
        format=format,
        size=declared,
        asset_kind=AssetKind.IMAGE,
        asset_url="pending",
        destination_url=destination_url,
        destination_kind=destination_kind,
        alt_text=alt_text,
    )
    draft.validate()  # every rule before the file is written
    filename = store_image(data, ext, settings.uploads_dir)
    asset_url = f"{settings.base_url}/uploads/{filename}"
    with catalog.transaction():
        return render(add_creative(catalog, scope, replace(draft, asset_url=asset_url)))


@router.get("/creatives/{creative_id}", response_model=CreativeOut)
def get_creative(creative_id: int, catalog: CatalogDep, scope: ScopeDep) -> CreativeOut:
    return render(load(catalog, scope, creative_id))


@router.patch("/creatives/{creative_id}", response_model=CreativeOut)
def update_creative(
    creative_id: int, body: CreativePatch, catalog: CatalogDep, scope: ScopeDep
) -> CreativeOut:
    changes = patch_fields(body)
    if any(v is None for v in changes.values()):
        field = next(k for k, v in changes.items() if v is None)
        raise ValidationFailed.one(field, "may not be null")
    with catalog.transaction():
        current = load(catalog, scope, creative_id)
        updated = replace(current, **changes)
        if updated != current and set(changes) - {"name"}:
            updated = updated.edited()  # what people see or where they land changed: re-review
        return render(catalog.creatives.update(updated.validate()))


@router.post("/creatives/{creative_id}/review", response_model=CreativeOut)
def review_creative(
    creative_id: int, body: ReviewIn, catalog: CatalogDep, scope: ScopeDep
) -> CreativeOut:
    scope.require_admin()
    with catalog.transaction():
        current = load(catalog, scope, creative_id)
        if body.decision is ReviewDecision.APPROVE:
            reviewed = current.approve()
        else:
            reviewed = current.reject(body.reason or "")
        return render(catalog.creatives.update(reviewed))


@router.delete("/creatives/{creative_id}", status_code=204)
def delete_creative(creative_id: int, catalog: CatalogDep, scope: ScopeDep) -> None:
    with catalog.transaction():
        load(catalog, scope, creative_id)
        catalog.creatives.delete(creative_id)
