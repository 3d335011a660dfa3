"""Advertiser report pages: every campaign at a glance (`/campaigns`), one campaign in full
(`/campaigns/{id}`), its exports (CSV, JSON, and the self-contained HTML report), and pausing
or activating a campaign by the domain's lifecycle rules.

Advertisers see their own campaigns; admins see all, optionally one advertiser's. Another
advertiser's campaign is a 404 page, exactly like a missing one.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backbeat.analytics import export
from backbeat.analytics import report_json as rj
from backbeat.analytics.facts import aware
from backbeat.analytics.runner import ReportSource
from backbeat.analytics.service import CampaignLine, CampaignReport, ReportService
from backbeat.domain.accounts import Role
from backbeat.domain.campaign import Campaign, CampaignStatus
from backbeat.domain.creative import ReviewStatus
from backbeat.errors import BackbeatError, NotFound, ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api import campaigns as campaigns_api
from backbeat.web.api.reports import download
from backbeat.web.api.tenancy import Scope
from backbeat.web.dashboard import campaign_view as cv
from backbeat.web.dashboard.base import Viewer, field, not_found, page, render, runtime
from backbeat.web.dashboard.report_view import (
    PeriodChoice,
    choose_period,
    in_thread,
    money_text,
    period_query,
    period_text,
    rate_view,
    report_service,
    share_text,
)

CHOICES = ("flight", "7", "14", "30", "custom")
ACTIONS: dict[CampaignStatus, tuple[tuple[str, str], ...]] = {
    CampaignStatus.DRAFT: (("active", "Activate"),),
    CampaignStatus.ACTIVE: (("paused", "Pause"),),
    CampaignStatus.PAUSED: (("active", "Activate"),),
}
VERBS = {"active": "activate", "paused": "pause"}
DONE = {"active": "Activated", "paused": "Paused"}


def owner_of(viewer: Viewer) -> int | None:
    """The advertiser whose campaigns the viewer sees (None: an admin, who sees all)."""
    return None if viewer.scope.is_admin else viewer.principal.advertiser_id


def change_status(
    catalog: Catalog, scope: Scope, campaign_id: int, target: str, now: datetime
) -> Campaign:
    """Pause or activate one of the caller's campaigns by the lifecycle rules (activating
    needs an approved creative and a flight that has not ended)."""
    if target not in VERBS:
        raise ValidationFailed.one("status", "choose active or paused")
    with catalog.transaction():
        current = campaigns_api.load(catalog, scope, campaign_id)
        approved = len(
            catalog.creatives.all(
                {"campaign_id": campaign_id, "review_status": ReviewStatus.APPROVED.value}
            )
        )
        moved = current.transition(CampaignStatus(target), approved_creatives=approved, now=now)
        return catalog.campaigns.update(moved)


# --- the overview ------------------------------------------------------------------------


def _line(ln: CampaignLine, advertisers: dict[int, str], currency: str) -> dict[str, Any]:
    c = ln.campaign
    v = ln.verdict
    return {
        "id": c.id, "name": c.name, "advertiser": advertisers.get(c.advertiser_id, ""),
        "status": c.status.value, "objective": c.objective.value, "format": ln.format.value,
        "spend": money_text(ln.spend_micros, currency),
        "budget": money_text(c.budget_total_micros, currency),
        "budget_used": share_text(ln.spend_micros, c.budget_total_micros),
        "progress": min(ln.spend_micros, c.budget_total_micros),
        "budget_micros": c.budget_total_micros,
        "impressions": ln.impressions, "reach": ln.reach, "clicks": ln.clicks,
        "ctr": rate_view(ln.ctr), "awareness": c.objective.value == "awareness",
        "verdict": None if v is None else v.outcome.value,
        "verdict_sentence": "" if v is None else v.sentence,
        "actions": ACTIONS.get(c.status, ()),
    }  # fmt: skip


def _flash(request: Request, catalog: Catalog, owner: int | None) -> str:
    raw, to = request.query_params.get("changed", ""), request.query_params.get("to", "")
    if not raw.isdigit() or to not in DONE:
        return ""
    c = catalog.campaigns.find(int(raw))
    if c is None or (owner is not None and c.advertiser_id != owner) or c.status.value != to:
        return ""
    return f"{DONE[to]} “{c.name}”."


async def _show_overview(
    request: Request, viewer: Viewer, error: str = "", status: int = 200
) -> Response:
    rt = runtime(request)
    service = report_service(request)
    advertisers = {a.id: a.name for a in rt.catalog.advertisers.all() if a.id is not None}
    owner = owner_of(viewer)
    chosen: int | None = None
    if owner is None:
        raw = request.query_params.get("advertiser", "")
        if raw:
            if not raw.isdigit() or int(raw) not in advertisers:
                return not_found(request, viewer, "advertiser")
            chosen = int(raw)
    overview = await in_thread(service.campaign_overview, owner if owner is not None else chosen)
    currency = rt.settings.currency
    lines = [_line(ln, advertisers, currency) for ln in overview.lines]
    context = {
        "title": "Campaigns" if owner is None else "My campaigns",
        "lines": lines,
        "period": period_text(overview.period),
        "is_admin": owner is None,
        "advertisers": sorted(advertisers.items(), key=lambda kv: kv[1].lower()),
        "chosen": chosen,
        "flash": "" if error else _flash(request, rt.catalog, owner),
        "summary": [(None, error)] if error else [],
    }
    data = {**rj.campaign_overview(overview), "error": error or None}
    return render(request, viewer, "reports/campaigns.html", context, data=data, status=status)


@page(Role.ADVERTISER, Role.ADMIN)
async def overview(request: Request, viewer: Viewer) -> Response:
    """GET /campaigns: every campaign with delivery, spend against budget, CTR and verdict."""
    return await _show_overview(request, viewer)


@page(Role.ADVERTISER, Role.ADMIN)
async def set_status(request: Request, viewer: Viewer) -> Response:
    """POST /campaigns/{id}/status: `status` = active | paused; `return_to` = campaign to come
    back to the campaign page. A refusal shows the reason on the page it came from."""
    campaign_id: int = request.path_params["campaign_id"]
    form = await request.form()
    target = field(form, "status")[:20]
    back_to_campaign = field(form, "return_to") == "campaign"
    rt = runtime(request)
    try:
        moved = change_status(rt.catalog, viewer.scope, campaign_id, target, rt.clock())
    except NotFound:
        return not_found(request, viewer, "campaign")
    except BackbeatError as exc:
        found = rt.catalog.campaigns.find(campaign_id)
        name = found.name if found else f"campaign {campaign_id}"
        reasons = "; ".join(f.reason for f in exc.fields) or exc.message
        message = f"Could not {VERBS.get(target, 'change')} “{name}”: {reasons}."
        if back_to_campaign:
            return await _show_campaign(request, viewer, campaign_id, message, exc.status)
        return await _show_overview(request, viewer, message, exc.status)
    where = f"/campaigns/{campaign_id}" if back_to_campaign else "/campaigns"
    return RedirectResponse(f"{where}?changed={moved.id}&to={target}", status_code=303)


# --- one campaign ------------------------------------------------------------------------


def _period(request: Request, service: ReportService, campaign: Campaign) -> PeriodChoice:
    zone = campaign.tz
    today = service.clock().astimezone(zone).date()
    last_day: date = aware(campaign.end).astimezone(zone).date()
    return choose_period(request.query_params, today, CHOICES, "flight", last_day)


def _report(
    service: ReportService, store: ReportSource, campaign_id: int, owner: int | None,
    period: PeriodChoice,
) -> tuple[CampaignReport, cv.Viewability]:  # fmt: skip
    try:
        report = service.campaign_report(campaign_id, owner, period.start, period.end)
    except ValidationFailed as exc:
        period.errors.absorb(exc)
        report = service.campaign_report(campaign_id, owner)
    return report, cv.breakdown_viewability(store, report)


async def _show_campaign(
    request: Request, viewer: Viewer, campaign_id: int, error: str = "", status: int = 200
) -> Response:
    rt = runtime(request)
    service = report_service(request)
    owner = owner_of(viewer)
    try:
        campaign = service.campaign(campaign_id, owner)
    except NotFound:
        return not_found(request, viewer, "campaign")
    period = _period(request, service, campaign)
    report, views = await in_thread(_report, service, rt.store, campaign_id, owner, period)
    currency = rt.settings.currency
    if period.errors and status == 200:
        status = 422
    base = f"/campaigns/{campaign_id}"
    query = period_query(report.period)
    context = {
        "title": campaign.name,
        "c": rj.campaign(campaign),
        "period": period,
        "choices": CHOICES,
        "period_text": period_text(report.period),
        "summary": ([(None, error)] if error else []) + period.summary(),
        "head": cv.headline(report, currency),
        "charts": cv.charts(report, currency),
        "days": cv.days(report, currency),
        "breakdowns": cv.breakdowns(report, views, currency),
        "findings": [cv.finding(f) for f in report.findings],
        "ab": cv.ab_rows(report),
        "scorecard": cv.scorecard_rows(report),
        "trends": cv.trend_lines(report),
        "actions": ACTIONS.get(campaign.status, ()),
        "exports": {kind: f"{base}/export.{kind}?{query}" for kind in ("csv", "html", "json")},
        "json_url": f"{base}?{query}&format=json",
        "flash": "" if error else _flash(request, rt.catalog, owner),
    }
    data = {**cv.report_data(report, views), "errors": period.errors.to_json(),
            "error": error or None}  # fmt: skip
    return render(request, viewer, "reports/campaign.html", context, data=data, status=status)


@page(Role.ADVERTISER, Role.ADMIN)
async def campaign_page(request: Request, viewer: Viewer) -> Response:
    """GET /campaigns/{id}: the full report over a chosen period (`period` = flight, 7, 14,
    30 or custom with `start` and `end`)."""
    return await _show_campaign(request, viewer, request.path_params["campaign_id"])


# --- exports -----------------------------------------------------------------------------


async def _export(request: Request, viewer: Viewer, kind: str) -> Response:
    rt = runtime(request)
    service = report_service(request)
    campaign_id: int = request.path_params["campaign_id"]
    owner = owner_of(viewer)
    try:
        campaign = service.campaign(campaign_id, owner)
    except NotFound:
        return not_found(request, viewer, "campaign")
    period = _period(request, service, campaign)
    if period.errors:
        return await _show_campaign(request, viewer, campaign_id)
    report = await in_thread(service.campaign_report, campaign_id, owner, period.start, period.end)
    name = f"campaign-{campaign_id}.{kind}"
    if kind == "csv":
        return download(export.report_csv(report), "text/csv; charset=utf-8", name)
    if kind == "json":
        return download(export.report_json(report), "application/json", name)
    html = partial(export.report_html, report, currency=rt.settings.currency)
    page_ = await in_thread(html)
    return download(page_, "text/html; charset=utf-8", name)


@page(Role.ADVERTISER, Role.ADMIN)
async def export_csv(request: Request, viewer: Viewer) -> Response:
    """GET /campaigns/{id}/export.csv: totals, daily series and breakdowns as one table."""
    return await _export(request, viewer, "csv")


@page(Role.ADVERTISER, Role.ADMIN)
async def export_json(request: Request, viewer: Viewer) -> Response:
    """GET /campaigns/{id}/export.json: the report as the API answers it."""
    return await _export(request, viewer, "json")


@page(Role.ADVERTISER, Role.ADMIN)
async def export_html(request: Request, viewer: Viewer) -> Response:
    """GET /campaigns/{id}/export.html: one HTML file with its charts, to open offline."""
    return await _export(request, viewer, "html")
