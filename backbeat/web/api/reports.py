"""Reports over the event store: ad-hoc queries, campaign overviews and full reports with
findings, exports (CSV, JSON, offline HTML), the planner, the network, publisher earnings and
invalid traffic.

Tenancy: advertisers see their own campaigns and events, publishers their own sites' and
events; admins see everything. A foreign campaign or publisher answers 404, like a missing
one; a route for another role answers 403 (campaign reports and the planner for publishers,
earnings for advertisers, the network and invalid-traffic reports for anyone but admins).
``GET /reports/query`` is scoped in SQL: whatever the filters, a tenant's query only ever
reads that tenant's events.

Bad input answers 422 naming the parameter: unknown metrics, dimensions or parameters,
malformed or inverted dates, ranges over five years, filter values outside their vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from backbeat.analytics import export
from backbeat.analytics import report_json as rj
from backbeat.analytics.planner import ArtistStage
from backbeat.analytics.query import Query as ReportQuery
from backbeat.analytics.runner import run
from backbeat.analytics.service import PlanRequest, ReportService
from backbeat.domain.accounts import Role
from backbeat.domain.campaign import FrequencyCap, Pricing
from backbeat.domain.taxonomy import AdFormat, check_genres
from backbeat.errors import FieldError, NotFound, ValidationFailed
from backbeat.web.api.common import MoneyIn, Strict, micros
from backbeat.web.api.deps import CatalogDep, ClockDep, ScopeDep, SettingsDep
from backbeat.web.api.tenancy import Scope

router = APIRouter(prefix="/reports", tags=["reports"])

MAX_PARAMS = 200
_SIMPLE = ("start", "end", "timezone", "granularity", "compare_previous", "include_invalid")
_LISTS = ("metrics", "dimensions")
_FILTER = "filter."
Day = Annotated[date | None, Query(description="YYYY-MM-DD, in the report's time zone")]
Zone = Annotated[str | None, Query(max_length=64, description="IANA time zone")]


def get_service(
    request: Request, catalog: CatalogDep, settings: SettingsDep, clock: ClockDep
) -> ReportService:
    store = request.app.state.runtime.store
    return ReportService(catalog, store, clock, settings.timezone)


ServiceDep = Annotated[ReportService, Depends(get_service)]


def _json(data: Mapping[str, Any]) -> JSONResponse:
    return JSONResponse(data)


def _advertiser(scope: Scope, requested: int | None = None) -> int | None:
    """The advertiser whose campaigns the caller sees: None for admins (all, or `requested`).
    Publishers get 403; another advertiser's id 404."""
    where = scope.advertiser_where()
    own = where.get("advertiser_id")
    if own is None:
        return requested
    if requested is not None and requested != own:
        raise NotFound("advertiser", requested)
    assert isinstance(own, int)
    return own


def _renamed(exc: ValidationFailed, names: Mapping[str, str]) -> ValidationFailed:
    """The same error with field names mapped to the request's own parameter names."""

    def name(field: str) -> str:
        for old, new in names.items():
            if field == old or field.startswith((old + ".", old + "[")):
                return new + field[len(old) :]
        return field

    fields = [FieldError(name(f.field), f.reason) for f in exc.fields]
    return ValidationFailed("; ".join(f"{f.field}: {f.reason}" for f in fields), fields)


# --- ad-hoc queries ----------------------------------------------------------------------


def _query_input(request: Request) -> dict[str, object]:
    items = request.query_params.multi_items()
    if len(items) > MAX_PARAMS:
        raise ValidationFailed.one("query", f"at most {MAX_PARAMS} parameters")
    data: dict[str, object] = {}
    lists: dict[str, list[str]] = {}
    filters: dict[str, list[str]] = {}
    unknown = []
    for key, value in items:
        if key in _SIMPLE:
            if key in data:
                unknown.append((key, "give it once"))
            data[key] = value
        elif key in _LISTS:
            lists.setdefault(key, []).extend(v for v in value.split(",") if v.strip())
        elif key.startswith(_FILTER) and len(key) > len(_FILTER):
            filters.setdefault(key[len(_FILTER) :], []).extend(
                v for v in value.split(",") if v.strip()
            )
        else:
            unknown.append((key[:40], "unknown parameter"))
    if unknown:
        raise ValidationFailed.many(dict(unknown))
    data.update(lists)
    if filters:
        data["filters"] = filters
    return data


@router.get("/query")
def report_query(request: Request, scope: ScopeDep, service: ServiceDep) -> JSONResponse:
    """Any report: ``metrics`` and ``dimensions`` (comma-separated or repeated), ``start``
    and ``end`` (dates, inclusive, or ISO datetimes), ``timezone``, ``granularity`` (none,
    hour, day, week), ``filter.<dimension>=v1,v2``, ``compare_previous``,
    ``include_invalid``. The answer is the runner's JSON (version 1)."""
    try:
        query = ReportQuery.parse(_query_input(request))
    except ValidationFailed as exc:
        raise _renamed(exc, {"filters": "filter"}) from None
    principal = scope.principal
    if principal.role is Role.ADVERTISER:
        query = query.scoped(advertiser_id=principal.advertiser_id)
    elif principal.role is Role.PUBLISHER:
        query = query.scoped(publisher_id=principal.publisher_id)
    return _json(run(query, service.store).to_dict())


# --- campaigns ---------------------------------------------------------------------------


@router.get("/campaigns")
def campaigns_overview(
    scope: ScopeDep,
    service: ServiceDep,
    start: Day = None,
    end: Day = None,
    timezone: Zone = None,
    advertiser_id: Annotated[int | None, Query(ge=1)] = None,
) -> JSONResponse:
    """One line per campaign: status, spend against budget, impressions, reach, clicks, CTR
    with its 95% range and the benchmark verdict. The period defaults to the earliest
    campaign's start through today."""
    owner = _advertiser(scope, advertiser_id)
    if owner is not None and service.catalog.advertisers.find(owner) is None:
        raise NotFound("advertiser", owner)
    return _json(rj.campaign_overview(service.campaign_overview(owner, start, end, timezone)))


@router.get("/campaigns/{campaign_id}")
def campaign_report(
    campaign_id: int, scope: ScopeDep, service: ServiceDep, start: Day = None, end: Day = None
) -> JSONResponse:
    """The full report: daily series against the pacing plan, breakdowns by creative, site,
    genre match, country and device, findings, the creative A/B panel, scorecard, trends.
    The period defaults to the flight so far, in the campaign's time zone."""
    report = service.campaign_report(campaign_id, _advertiser(scope), start, end)
    return _json(rj.campaign_report(report))


@router.get("/campaigns/{campaign_id}/diagnosis")
def campaign_diagnosis(
    campaign_id: int, scope: ScopeDep, service: ServiceDep, reading_ctr: bool = False
) -> JSONResponse:
    """Findings about the flight so far, most severe first, each with its evidence."""
    found = service.diagnosis(campaign_id, _advertiser(scope), reading_ctr=reading_ctr)
    return _json(rj.diagnosis(found))


def download(body: str, media: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if media.startswith("text/html"):
        # The page is meant to be saved and opened offline; if a browser renders it from the
        # API, it may run only its own inline code.
        headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
        )
    return Response(body, media_type=media, headers=headers)


@router.get("/campaigns/{campaign_id}/export.csv")
def export_csv(
    campaign_id: int, scope: ScopeDep, service: ServiceDep, start: Day = None, end: Day = None
) -> Response:
    """The report's totals, daily series and breakdowns as one CSV table."""
    report = service.campaign_report(campaign_id, _advertiser(scope), start, end)
    return download(export.report_csv(report), "text/csv; charset=utf-8",
                     f"campaign-{campaign_id}.csv")  # fmt: skip


@router.get("/campaigns/{campaign_id}/export.json")
def export_json(
    campaign_id: int, scope: ScopeDep, service: ServiceDep, start: Day = None, end: Day = None
) -> Response:
    """The report as a JSON file (the shape of ``GET /reports/campaigns/{id}``)."""
    report = service.campaign_report(campaign_id, _advertiser(scope), start, end)
    return download(export.report_json(report), "application/json",
                     f"campaign-{campaign_id}.json")  # fmt: skip


@router.get("/campaigns/{campaign_id}/export.html")
def export_html(
    campaign_id: int,
    scope: ScopeDep,
    service: ServiceDep,
    settings: SettingsDep,
    start: Day = None,
    end: Day = None,
) -> Response:
    """The report as one HTML file with its charts, to save and open offline."""
    report = service.campaign_report(campaign_id, _advertiser(scope), start, end)
    page = export.report_html(report, currency=settings.currency)
    return download(page, "text/html; charset=utf-8", f"campaign-{campaign_id}.html")


# --- the planner -------------------------------------------------------------------------


class FrequencyCapIn(Strict):
    impressions: int
    hours: int


class PlanIn(Strict):
    budget: MoneyIn
    pricing: Pricing = Pricing.CPM
    bid: MoneyIn
    format: AdFormat = AdFormat.DISPLAY
    flight_days: Annotated[int, Field(ge=1, le=1830)]
    frequency_cap: FrequencyCapIn | None = None
    site_ids: Annotated[list[int], Field(max_length=1000)] = []
    genres: Annotated[list[str], Field(max_length=50)] = []
    available_daily_impressions: Annotated[int, Field(ge=0, le=10**12)] | None = None
    unique_visitors_per_day: Annotated[int, Field(ge=1, le=10**12)] | None = None
    stage: ArtistStage | None = None
    ctr_benchmark: Annotated[str, Field(min_length=1, max_length=100)] | None = None


_PLAN_FIELDS = {"budget_micros": "budget", "bid_micros": "bid"}


@router.post("/plan")
def plan_campaign(body: PlanIn, scope: ScopeDep, service: ServiceDep) -> JSONResponse:
    """Forecast impressions, clicks and reach for a budget. Inventory is the valid ad
    requests on the targeted sites' placements over the last 14 days (``site_ids``, else
    sites with any of ``genres``, else the whole network) unless the body gives
    ``available_daily_impressions`` / ``unique_visitors_per_day``."""
    scope.advertiser_where()  # publishers plan no campaigns
    cap = body.frequency_cap
    request = PlanRequest(
        budget_micros=micros(body.budget, "budget") or 0,
        pricing=body.pricing,
        bid_micros=micros(body.bid, "bid") or 0,
        format=body.format,
        flight_days=body.flight_days,
        frequency_cap=None if cap is None else FrequencyCap(cap.impressions, cap.hours),
        site_ids=tuple(body.site_ids),
        genres=check_genres(body.genres, "genres"),
        available_daily_impressions=body.available_daily_impressions,
        unique_visitors_per_day=body.unique_visitors_per_day,
        stage=body.stage,
        ctr_benchmark=body.ctr_benchmark,
    )
    try:
        outcome = service.plan(request)
    except ValidationFailed as exc:
        raise _renamed(exc, _PLAN_FIELDS) from None
    return _json(rj.plan_outcome(outcome))


# --- the network, publishers, invalid traffic --------------------------------------------


@router.get("/network")
def network(
    scope: ScopeDep, service: ServiceDep, start: Day = None, end: Day = None, timezone: Zone = None
) -> JSONResponse:
    """Admins: fill rate (decisions with an ad / all), revenue, publisher payouts, margin,
    invalid rate. The period defaults to the last 30 days."""
    scope.require_admin()
    return _json(rj.network_overview(service.network_overview(start, end, timezone)))


@router.get("/publisher")
def publisher(
    scope: ScopeDep,
    service: ServiceDep,
    start: Day = None,
    end: Day = None,
    timezone: Zone = None,
    publisher_id: Annotated[int | None, Query(ge=1)] = None,
) -> JSONResponse:
    """A publisher's earnings per site: impressions, earnings at its revenue share, eCPM,
    invalid share; and its fill rate. Publishers see their own; admins name one."""
    owner = scope.owning_publisher(publisher_id)
    return _json(rj.publisher_earnings(service.publisher_earnings(owner, start, end, timezone)))


@router.get("/ivt")
def invalid_traffic(
    scope: ScopeDep, service: ServiceDep, start: Day = None, end: Day = None, timezone: Zone = None
) -> JSONResponse:
    """Admins: invalid traffic by reason and by site. The period defaults to the last 30 days."""
    scope.require_admin()
    return _json(rj.ivt_report(service.ivt_report(start, end, timezone)))
