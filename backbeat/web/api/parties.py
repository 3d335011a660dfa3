"""Advertisers and publishers: the network's tenants. Admins create them; members read theirs."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import EmailStr, Field

from backbeat.domain.parties import Advertiser, Publisher
from backbeat.web.api.common import Out, PageOut, Paging, Strict, list_page, patch_fields
from backbeat.web.api.deps import CatalogDep, ScopeDep

router = APIRouter(tags=["tenants"])
Name = Annotated[str, Field(min_length=1, max_length=200)]


class AdvertiserIn(Strict):
    name: Name
    contact_email: EmailStr | None = None


class AdvertiserPatch(Strict):
    name: Name | None = None
    contact_email: EmailStr | None = None


class AdvertiserOut(Out):
    id: int
    name: str
    contact_email: str | None
    created_at: datetime | None


class PublisherIn(Strict):
    name: Name
    contact_email: EmailStr | None = None
    revenue_share_pct: Annotated[int, Field(ge=0, le=100)] = 70


class PublisherPatch(Strict):
    name: Name | None = None
    contact_email: EmailStr | None = None
    revenue_share_pct: Annotated[int, Field(ge=0, le=100)] | None = None


class PublisherOut(Out):
    id: int
    name: str
    contact_email: str | None
    revenue_share_pct: int
    created_at: datetime | None


def _adv(a: Advertiser) -> AdvertiserOut:
    return AdvertiserOut.model_validate(a)


def _pub(p: Publisher) -> PublisherOut:
    return PublisherOut.model_validate(p)


@router.get("/advertisers", response_model=PageOut[AdvertiserOut])
def list_advertisers(
    catalog: CatalogDep,
    scope: ScopeDep,
    paging: Annotated[Paging, Depends()],
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> PageOut[AdvertiserOut]:
    where = scope.advertiser_where()
    if "advertiser_id" in where:
        where = {"id": where["advertiser_id"]}
    return list_page(catalog.advertisers, paging, {**where, "q": q}, _adv)


@router.post("/advertisers", response_model=AdvertiserOut, status_code=201)
def create_advertiser(body: AdvertiserIn, catalog: CatalogDep, scope: ScopeDep) -> AdvertiserOut:
    scope.require_admin()
    adv = Advertiser(name=body.name, contact_email=body.contact_email).validate()
    return _adv(catalog.advertisers.add(adv))


@router.get("/advertisers/{advertiser_id}", response_model=AdvertiserOut)
def get_advertiser(advertiser_id: int, catalog: CatalogDep, scope: ScopeDep) -> AdvertiserOut:
    scope.check_advertiser(advertiser_id, "advertiser", advertiser_id)
    return _adv(catalog.advertisers.get(advertiser_id))


@router.patch("/advertisers/{advertiser_id}", response_model=AdvertiserOut)
def update_advertiser(
    advertiser_id: int, body: AdvertiserPatch, catalog: CatalogDep, scope: ScopeDep
) -> AdvertiserOut:
    scope.check_advertiser(advertiser_id, "advertiser", advertiser_id)
    with catalog.transaction():
        current = catalog.advertisers.get(advertiser_id)
        updated = replace(current, **patch_fields(body)).validate()
        return _adv(catalog.advertisers.update(updated))


@router.delete("/advertisers/{advertiser_id}", status_code=204)
def delete_advertiser(advertiser_id: int, catalog: CatalogDep, scope: ScopeDep) -> None:
    scope.require_admin()
    catalog.advertisers.delete(advertiser_id)


@router.get("/publishers", response_model=PageOut[PublisherOut])
def list_publishers(
    catalog: CatalogDep,
    scope: ScopeDep,
    paging: Annotated[Paging, Depends()],
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> PageOut[PublisherOut]:
    where = scope.publisher_where()
    if "publisher_id" in where:
        where = {"id": where["publisher_id"]}
    return list_page(catalog.publishers, paging, {**where, "q": q}, _pub)


@router.post("/publishers", response_model=PublisherOut, status_code=201)
def create_publisher(body: PublisherIn, catalog: CatalogDep, scope: ScopeDep) -> PublisherOut:
    scope.require_admin()
    pub = Publisher(
        name=body.name, contact_email=body.contact_email, revenue_share_pct=body.revenue_share_pct
    ).validate()
    return _pub(catalog.publishers.add(pub))


@router.get("/publishers/{publisher_id}", response_model=PublisherOut)
def get_publisher(publisher_id: int, catalog: CatalogDep, scope: ScopeDep) -> PublisherOut:
    scope.check_publisher(publisher_id, "publisher", publisher_id)
    return _pub(catalog.publishers.get(publisher_id))


@router.patch("/publishers/{publisher_id}", response_model=PublisherOut)
def update_publisher(
    publisher_id: int, body: PublisherPatch, catalog: CatalogDep, scope: ScopeDep
) -> PublisherOut:
    scope.check_publisher(publisher_id, "publisher", publisher_id)
    changes = patch_fields(body)
    if "revenue_share_pct" in changes:
        scope.require_admin()  # the split is the operator's to set
    with catalog.transaction():
        current = catalog.publishers.get(publisher_id)
        return _pub(catalog.publishers.update(replace(current, **changes).validate()))


@router.delete("/publishers/{publisher_id}", status_code=204)
def delete_publisher(publisher_id: int, catalog: CatalogDep, scope: ScopeDep) -> None:
    scope.require_admin()
    catalog.publishers.delete(publisher_id)
