"""Publisher pages: sites and their placements, new sites and placements, and for each
placement the ad tag to paste (the script tag, and an iframe for pages that allow no script).
Publishers see their own inventory; admins see every publisher's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backbeat.domain.accounts import Role
from backbeat.domain.inventory import Placement, Site, normalise_domain
from backbeat.domain.money import format_money, to_micros
from backbeat.domain.taxonomy import (
    GENRES,
    SIZES_BY_FORMAT,
    AdFormat,
    Size,
    check_country,
    check_genres,
)
from backbeat.errors import BackbeatError, NotFound, ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api.inventory import load_site
from backbeat.web.api.tenancy import Scope
from backbeat.web.dashboard.base import Viewer, field, not_found, page, render, runtime
from backbeat.web.dashboard.form_errors import FormErrors, errors_of

SITE_ALIASES = {"publisher_id": "publisher_id"}
PLACEMENT_ALIASES = {"name": "placement_name", "floor_cpm": "floor_cpm", "sizes": "sizes"}
LABELS = {
    "publisher_id": "Publisher", "domain": "Domain", "name": "Site name", "country": "Country",
    "genres": "Genres", "placement_name": "Placement name", "format": "Format",
    "sizes": "Sizes", "floor_cpm": "Floor CPM",
}  # fmt: skip


def tag_snippet(base_url: str, placement_id: int) -> str:
    """The script tag: a slot where the ad goes, and the tag script (once per page)."""
    return (
        f'<div data-backbeat-placement="{placement_id}"></div>\n'
        f'<script async src="{base_url}/tag.js"></script>'
    )


def iframe_snippet(base_url: str, placement: Placement) -> str:
    """The no-script alternative: a fixed-size frame (the placement's first size)."""
    size = sorted(placement.sizes)[0]
    return (
        f'<iframe src="{base_url}/frame/{placement.id}" width="{size.width}" '
        f'height="{size.height}" scrolling="no" style="border:0" title="Advertisement">'
        "</iframe>"
    )


def create_site(
    catalog: Catalog,
    scope: Scope,
    requested_publisher: int | None,
    *,
    domain: str,
    name: str,
    country: str,
    genres: list[str],
) -> Site:
    """A new site of the caller's publisher (or, for an admin, the one asked for)."""
    if scope.is_admin and requested_publisher is None:
        raise ValidationFailed.one("publisher_id", "choose the publisher this site is for")
    publisher_id = scope.owning_publisher(requested_publisher)
    site = Site(publisher_id, domain, name, country, frozenset(genres)).validate()
    site = replace(
        site,
        domain=normalise_domain(site.domain),
        country=check_country(site.country),
        genres=check_genres(site.genres),
    )
    with catalog.transaction():
        if catalog.publishers.find(publisher_id) is None:
            raise ValidationFailed.one("publisher_id", "choose the publisher this site is for")
        return catalog.sites.add(site)


def create_placement(
    catalog: Catalog,
    scope: Scope,
    site_id: int,
    network_floor_micros: int,
    *,
    name: str,
    format: str,
    sizes: list[str],
    floor_cpm: str,
) -> Placement:
    """A new placement on one of the caller's sites."""
    try:
        fmt = AdFormat(format)
    except ValueError:
        raise ValidationFailed.one("format", "choose display, video or native") from None
    floor = to_micros(floor_cpm, "floor_cpm") if floor_cpm else network_floor_micros
    parsed = frozenset(Size.parse(s, "sizes") for s in sizes)
    placement = Placement(site_id, name, fmt, parsed, floor).validate(network_floor_micros)
    with catalog.transaction():
        load_site(catalog, scope, site_id)
        return catalog.placements.add(placement)


def _placement(p: Placement, base_url: str, currency: str) -> dict[str, Any]:
    assert p.id is not None
    return {
        "id": p.id,
        "name": p.name,
        "format": p.format.value,
        "sizes": [str(s) for s in sorted(p.sizes)],
        "floor_cpm_micros": p.floor_cpm_micros,
        "floor_cpm": format_money(p.floor_cpm_micros, currency),
        "active": p.active,
        "tag": tag_snippet(base_url, p.id),
        "iframe": iframe_snippet(base_url, p),
        "multi_size": len(p.sizes) > 1,
    }


def _site(
    s: Site, placements: list[Placement], publishers: dict[int, str], base_url: str, cur: str
) -> dict[str, Any]:
    labels = {g.slug: g.label for g in GENRES}
    return {
        "id": s.id,
        "publisher_id": s.publisher_id,
        "publisher": publishers.get(s.publisher_id, ""),
        "domain": s.domain,
        "name": s.name,
        "country": s.country,
        "genres": sorted(s.genres),
        "genre_labels": [labels.get(g, g) for g in sorted(s.genres)],
        "placements": [_placement(p, base_url, cur) for p in placements],
    }


def listing(catalog: Catalog, scope: Scope, base_url: str, currency: str) -> list[dict[str, Any]]:
    """The sites the caller may see, with their placements and tags."""
    sites = catalog.sites.all(scope.publisher_where())
    ids = {s.id for s in sites}
    by_site: dict[int, list[Placement]] = {}
    for p in catalog.placements.all({"site_id": ids}) if ids else []:
        by_site.setdefault(p.site_id, []).append(p)
    names = {p.id: p.name for p in catalog.publishers.all() if p.id is not None}
    return [
        _site(s, by_site.get(s.id or 0, []), names, base_url, currency)
        for s in sorted(sites, key=lambda s: (s.publisher_id, s.name.lower(), s.id or 0))
    ]


def _common(request: Request, viewer: Viewer) -> dict[str, Any]:
    rt = runtime(request)
    every = sorted({s for v in SIZES_BY_FORMAT.values() for s in v})
    sizes = [
        (str(s), ", ".join(f.value for f, v in SIZES_BY_FORMAT.items() if s in v)) for s in every
    ]
    return {
        "genres": GENRES,
        "formats": [f.value for f in AdFormat],
        "sizes": sizes,
        "network_floor": format_money(rt.settings.floor_cpm_micros, rt.settings.currency),
        "network_floor_value": f"{rt.settings.floor_cpm:f}",
        "publishers": rt.catalog.publishers.all() if viewer.scope.is_admin else [],
        "base_url": rt.settings.base_url,
    }


def _show_overview(
    request: Request,
    viewer: Viewer,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rt = runtime(request)
    errs = errors or FormErrors()
    sites = listing(rt.catalog, viewer.scope, rt.settings.base_url, rt.settings.currency)
    context = {
        **_common(request, viewer),
        "title": "Inventory" if viewer.scope.is_admin else "My sites",
        "sites": sites,
        "errors": errs,
        "summary": errs.summary(LABELS),
        "values": values or {"genres": []},
    }
    data = {"sites": sites, "errors": errs.to_json(), "base_url": rt.settings.base_url}
    return render(request, viewer, "publisher/index.html", context, data=data, status=status)


@page(Role.PUBLISHER, Role.ADMIN)
async def overview(request: Request, viewer: Viewer) -> Response:
    """GET /publisher: sites, placements and their ad tags."""
    return _show_overview(request, viewer)


def _site_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {n: field(form, n)[:253] for n in ("domain", "name", "country")}
    values["publisher_id"] = field(form, "publisher_id")[:20]
    values["genres"] = [g for g in form.getlist("genres") if isinstance(g, str)][:50]
    return values


@page(Role.PUBLISHER, Role.ADMIN)
async def add_site(request: Request, viewer: Viewer) -> Response:
    """POST /publisher/sites: domain, name, country, genres (and publisher_id for admins)."""
    form = await request.form()
    vals = _site_values(form)
    rt = runtime(request)
    raw = vals["publisher_id"]
    requested = int(raw) if viewer.scope.is_admin and raw.isdigit() else None
    try:
        site = create_site(
            rt.catalog,
            viewer.scope,
            requested,
            domain=vals["domain"],
            name=vals["name"],
            country=vals["country"],
            genres=vals["genres"],
        )
    except BackbeatError as exc:
        errs = errors_of(exc, SITE_ALIASES)
        return _show_overview(request, viewer, errs, vals, status=exc.status)
    return RedirectResponse(f"/publisher/sites/{site.id}?added=site", status_code=303)


def _show_site(
    request: Request,
    viewer: Viewer,
    site_id: int,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rt = runtime(request)
    try:
        site = load_site(rt.catalog, viewer.scope, site_id)
    except NotFound:
        return not_found(request, viewer, "site")
    placements = rt.catalog.placements.all({"site_id": site_id})
    publisher = rt.catalog.publishers.find(site.publisher_id)
    names = {site.publisher_id: publisher.name if publisher else ""}
    item = _site(site, placements, names, rt.settings.base_url, rt.settings.currency)
    errs = errors or FormErrors()
    added = request.query_params.get("added", "")
    flash = ""
    if added == "site":
        flash = f"Added {site.domain}. Now add the ad slots (placements) it has."
    elif added.isdigit() and any(p["id"] == int(added) for p in item["placements"]):
        flash = "Added the placement. Copy its ad tag into your pages."
    context = {
        **_common(request, viewer),
        "title": site.name,
        "site": item,
        "errors": errs,
        "summary": errs.summary(LABELS),
        "values": values or {"format": "display", "sizes": [], "floor_cpm": ""},
        "flash": flash,
    }
    data = {"site": item, "errors": errs.to_json()}
    return render(request, viewer, "publisher/site.html", context, data=data, status=status)


@page(Role.PUBLISHER, Role.ADMIN)
async def site_page(request: Request, viewer: Viewer) -> Response:
    """GET /publisher/sites/{id}: one site, its placements and tags, and a form for more."""
    return _show_site(request, viewer, request.path_params["site_id"])


@page(Role.PUBLISHER, Role.ADMIN)
async def add_placement(request: Request, viewer: Viewer) -> Response:
    """POST /publisher/sites/{id}/placements: name, format, sizes, floor CPM."""
    site_id: int = request.path_params["site_id"]
    form = await request.form()
    rt = runtime(request)
    vals: dict[str, Any] = {
        "placement_name": field(form, "placement_name")[:200],
        "format": field(form, "format")[:16],
        "sizes": [s for s in form.getlist("sizes") if isinstance(s, str)][:20],
        "floor_cpm": field(form, "floor_cpm")[:40],
    }
    try:
        placement = create_placement(
            rt.catalog,
            viewer.scope,
            site_id,
            rt.settings.floor_cpm_micros,
            name=vals["placement_name"],
            format=vals["format"],
            sizes=vals["sizes"],
            floor_cpm=vals["floor_cpm"],
        )
    except NotFound:
        return not_found(request, viewer, "site")
    except BackbeatError as exc:
        errs = errors_of(exc, PLACEMENT_ALIASES)
        return _show_site(request, viewer, site_id, errs, vals, status=exc.status)
    url = f"/publisher/sites/{site_id}?added={placement.id}#placement-{placement.id}"
    return RedirectResponse(url, status_code=303)
