"""Sites and placements: a publisher's inventory. Admins see all; publishers see their own."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from backbeat.domain.inventory import Placement, Site, normalise_domain
from backbeat.domain.taxonomy import AdFormat, Size, check_country, check_genres
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
from backbeat.web.api.deps import CatalogDep, ScopeDep, SettingsDep
from backbeat.web.api.tenancy import Scope

router = APIRouter(tags=["inventory"])
Name = Annotated[str, Field(min_length=1, max_length=200)]
Genres = Annotated[list[str], Field(max_length=20)]
Sizes = Annotated[list[str], Field(min_length=1, max_length=10)]


class SiteIn(Strict):
    publisher_id: int | None = None
    domain: Annotated[str, Field(max_length=253)]
    name: Name
    country: Annotated[str, Field(max_length=2)]
    genres: Genres


class SitePatch(Strict):
    name: Name | None = None
    country: Annotated[str, Field(max_length=2)] | None = None
    genres: Genres | None = None


class SiteOut(Out):
    id: int
    publisher_id: int
    domain: str
    name: str
    country: str
    genres: list[str]
    created_at: datetime | None


class PlacementIn(Strict):
    site_id: int
    name: Name
    format: AdFormat = AdFormat.DISPLAY
    sizes: Sizes
    floor_cpm: MoneyIn | None = None


class PlacementPatch(Strict):
    name: Name | None = None
    sizes: Sizes | None = None
    floor_cpm: MoneyIn | None = None
    active: bool | None = None


class PlacementOut(Out):
    id: int
    site_id: int
    name: str
    format: AdFormat
    sizes: list[str]
    floor_cpm: str
    active: bool
    created_at: datetime | None


def render_site(s: Site) -> SiteOut:
    assert s.id is not None
    return SiteOut(
        id=s.id,
        publisher_id=s.publisher_id,
        domain=s.domain,
        name=s.name,
        country=s.country,
        genres=sorted(s.genres),
        created_at=s.created_at,
    )


def render_placement(p: Placement) -> PlacementOut:
    assert p.id is not None
    return PlacementOut(
        id=p.id,
        site_id=p.site_id,
        name=p.name,
        format=p.format,
        sizes=[str(s) for s in sorted(p.sizes)],
        floor_cpm=money(p.floor_cpm_micros) or "0",
        active=p.active,
        created_at=p.created_at,
    )


def load_site(catalog: Catalog, scope: Scope, site_id: int) -> Site:
    site = catalog.sites.find(site_id)
    if site is None:
        raise NotFound("site", site_id)
    scope.check_publisher(site.publisher_id, "site", site_id)
    return site


def load_placement(catalog: Catalog, scope: Scope, placement_id: int) -> Placement:
    placement = catalog.placements.find(placement_id)
    if placement is None:
        raise NotFound("placement", placement_id)
    site = catalog.sites.get(placement.site_id)
    scope.check_publisher(site.publisher_id, "placement", placement_id)
    return placement


def _sizes(values: list[str]) -> frozenset[Size]:
    return frozenset(Size.parse(v, "sizes") for v in values)


@router.get("/sites", response_model=PageOut[SiteOut])
def list_sites(
    catalog: CatalogDep,
    scope: ScopeDep,
    paging: Annotated[Paging, Depends()],
    publisher_id: int | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> PageOut[SiteOut]:
    scoped = scope.publisher_where()
    if scoped and publisher_id not in (None, scoped["publisher_id"]):
        raise NotFound("publisher", publisher_id)
    where: dict[str, Any] = {"publisher_id": publisher_id, "q": q, **scoped}
    return list_page(catalog.sites, paging, where, render_site)


@router.post("/sites", response_model=SiteOut, status_code=201)
def create_site(body: SiteIn, catalog: CatalogDep, scope: ScopeDep) -> SiteOut:
    publisher_id = scope.owning_publisher(body.publisher_id)
    site = Site(
        publisher_id=publisher_id,
        domain=body.domain,
        name=body.name,
        country=body.country,
        genres=frozenset(body.genres),
    ).validate()
    site = replace(
        site,
        domain=normalise_domain(site.domain),
        country=check_country(site.country),
        genres=check_genres(site.genres),
    )
    with catalog.transaction():
        if catalog.publishers.find(publisher_id) is None:
            raise NotFound("publisher", publisher_id)
        return render_site(catalog.sites.add(site))


@router.get("/sites/{site_id}", response_model=SiteOut)
def get_site(site_id: int, catalog: CatalogDep, scope: ScopeDep) -> SiteOut:
    return render_site(load_site(catalog, scope, site_id))


@router.patch("/sites/{site_id}", response_model=SiteOut)
def update_site(site_id: int, body: SitePatch, catalog: CatalogDep, scope: ScopeDep) -> SiteOut:
    changes = patch_fields(body)
    if any(v is None for v in changes.values()):
        raise ValidationFailed.one(next(k for k, v in changes.items() if v is None), "required")
    if "genres" in changes:
        changes["genres"] = check_genres(changes["genres"])
    if "country" in changes:
        changes["country"] = check_country(changes["country"])
    with catalog.transaction():
        current = load_site(catalog, scope, site_id)
        return render_site(catalog.sites.update(replace(current, **changes).validate()))


@router.delete("/sites/{site_id}", status_code=204)
def delete_site(site_id: int, catalog: CatalogDep, scope: ScopeDep) -> None:
    with catalog.transaction():
        load_site(catalog, scope, site_id)
        catalog.sites.delete(site_id)


@router.get("/placements", response_model=PageOut[PlacementOut])
def list_placements(
    catalog: CatalogDep,
    scope: ScopeDep,
    paging: Annotated[Paging, Depends()],
    site_id: int | None = None,
) -> PageOut[PlacementOut]:
    scoped = scope.publisher_where()
    where: dict[str, Any] = {"site_id": site_id}
    if scoped:
        own_sites = {s.id for s in catalog.sites.all(scoped)}
        if site_id is not None and site_id not in own_sites:
            raise NotFound("site", site_id)
        if site_id is None:
            where["site_id"] = own_sites
    return list_page(catalog.placements, paging, where, render_placement)


@router.post("/placements", response_model=PlacementOut, status_code=201)
def create_placement(
    body: PlacementIn, catalog: CatalogDep, scope: ScopeDep, settings: SettingsDep
) -> PlacementOut:
    floor = micros(body.floor_cpm, "floor_cpm")
    placement = Placement(
        site_id=body.site_id,
        name=body.name,
        format=body.format,
        sizes=_sizes(body.sizes),
        floor_cpm_micros=settings.floor_cpm_micros if floor is None else floor,
    ).validate(settings.floor_cpm_micros)
    with catalog.transaction():
        load_site(catalog, scope, body.site_id)
        return render_placement(catalog.placements.add(placement))


@router.get("/placements/{placement_id}", response_model=PlacementOut)
def get_placement(placement_id: int, catalog: CatalogDep, scope: ScopeDep) -> PlacementOut:
    return render_placement(load_placement(catalog, scope, placement_id))


@router.patch("/placements/{placement_id}", response_model=PlacementOut)
def update_placement(
    placement_id: int,
    body: PlacementPatch,
    catalog: CatalogDep,
    scope: ScopeDep,
    settings: SettingsDep,
) -> PlacementOut:
    sent = patch_fields(body)
    if any(v is None for v in sent.values()):
        raise ValidationFailed.one(next(k for k, v in sent.items() if v is None), "required")
    changes: dict[str, Any] = {}
    if "name" in sent:
        changes["name"] = body.name
    if "active" in sent:
        changes["active"] = body.active
    if "sizes" in sent and body.sizes is not None:
        changes["sizes"] = _sizes(body.sizes)
    if "floor_cpm" in sent:
        changes["floor_cpm_micros"] = micros(body.floor_cpm, "floor_cpm")
    with catalog.transaction():
        current = load_placement(catalog, scope, placement_id)
        updated = replace(current, **changes).validate(settings.floor_cpm_micros)
        return render_placement(catalog.placements.update(updated))


@router.delete("/placements/{placement_id}", status_code=204)
def delete_placement(placement_id: int, catalog: CatalogDep, scope: ScopeDep) -> None:
    with catalog.transaction():
        load_placement(catalog, scope, placement_id)
        catalog.placements.delete(placement_id)
