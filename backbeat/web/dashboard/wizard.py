"""The "Start your campaign" wizard (`/campaigns/new`) and its live forecast
(`/campaigns/new/forecast`).

Five steps, each a POST to the same URL carrying the draft (see
:mod:`backbeat.web.dashboard.wizard_form`): objective, budget and schedule, audience,
creative, check and submit. Only the last one writes: the draft campaign and its pending
creative together, in one catalog transaction, at most once per draft (a double click or a
re-posted form does not make a second campaign).
"""

from __future__ import annotations

import base64
import io
import secrets
from dataclasses import replace
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from PIL import Image
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backbeat.analytics.service import ReportService
from backbeat.domain.accounts import Role
from backbeat.domain.campaign import Campaign, Objective
from backbeat.domain.creative import Creative, DestinationKind
from backbeat.domain.money import format_money
from backbeat.domain.taxonomy import DISPLAY_SIZES, GENRES, DeviceType
from backbeat.errors import BackbeatError, ValidationFailed
from backbeat.web.dashboard.base import Viewer, field, page, render, runtime
from backbeat.web.dashboard.form_errors import FormErrors, errors_of
from backbeat.web.dashboard.wizard_forecast import ForecastInput, InventoryCache, view
from backbeat.web.dashboard.wizard_form import (
    CAMPAIGN_ALIASES,
    FORECAST_FIELDS,
    LABELS,
    OWNER,
    STAGING,
    STEP_FIELDS,
    STEP_TITLES,
    STEPS,
    Checked,
    Context,
    Draft,
    check,
    commit,
    first_step_with_errors,
)
from backbeat.web.runtime import Runtime

OBJECTIVES = (
    (
        Objective.AWARENESS,
        "Awareness",
        "Exposure: put your music in front of as many listeners as possible. You pay for "
        "impressions, and success is measured in impressions and reach (how many different "
        "people saw the ad).",
    ),
    (
        Objective.TRAFFIC,
        "Traffic",
        "Action: send people to a streaming page, your store, tickets or your profile. "
        "Success is measured in clicks.",
    ),
    (
        Objective.RETARGETING,
        "Retargeting",
        "Action again, from people who already engaged: those who saw or clicked one of your "
        "earlier campaigns. It needs an audience built from a past campaign.",
    ),
)
SIZE_NAMES = {
    "300x250": "medium rectangle", "728x90": "leaderboard", "160x600": "skyscraper",
    "300x600": "half page", "320x50": "smartphone banner", "300x50": "smartphone banner",
    "970x250": "billboard", "970x90": "super leaderboard", "300x1050": "portrait",
    "320x100": "large mobile banner",
}  # fmt: skip
DESTINATIONS = (
    (DestinationKind.STREAMING, "Streaming page (Spotify, Apple Music, Deezer…)"),
    (DestinationKind.STORE, "Store or merch"),
    (DestinationKind.TICKETS, "Tickets"),
    (DestinationKind.SOCIAL, "Social profile"),
    (DestinationKind.WEBSITE, "Website"),
)
DEVICES = (
    (DeviceType.MOBILE, "Phones"),
    (DeviceType.DESKTOP, "Computers"),
    (DeviceType.TABLET, "Tablets"),
    (DeviceType.OTHER, "Other (TVs, consoles)"),
)
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
CLAIM_TTL_S = 24 * 3600


def _ctx(rt: Runtime, viewer: Viewer) -> Context:
    s = rt.settings
    return Context(
        catalog=rt.catalog,
        scope=viewer.scope,
        floor_cpm_micros=s.floor_cpm_micros,
        max_upload_bytes=s.max_upload_bytes,
        staging_dir=s.data_dir / STAGING,
        now=rt.clock(),
    )


def _defaults(draft: Draft, rt: Runtime) -> Draft:
    zone = rt.settings.timezone
    today = rt.clock().astimezone(ZoneInfo(zone)).date()
    return draft.with_defaults(today, zone, rt.settings.floor_cpm_micros)


def _cache(request: Request) -> InventoryCache:
    state = request.app.state
    cache: InventoryCache | None = getattr(state, "wizard_inventory", None)
    if cache is None:
        cache = InventoryCache()
        state.wizard_inventory = cache
    return cache


def _forecast(request: Request, rt: Runtime, inp: ForecastInput | None) -> dict[str, Any] | None:
    """The forecast for a checked draft (None while its budget step is unsound)."""
    if inp is None:
        return None
    service = ReportService(rt.catalog, rt.store, rt.clock, rt.settings.timezone)
    try:
        inventory = _cache(request).get(service, inp.targeting)
        return view(inp, inventory, rt.settings.currency)
    except ValidationFailed:
        return None


def _preview(ctx: Context, draft: Draft) -> dict[str, Any] | None:
    """The staged image as a data: URL with its real dimensions (it is not public yet)."""
    name = draft.get("staged")
    path = ctx.staging_dir / name
    if not name or "/" in name or not path.is_file():
        return None
    data = path.read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height, fmt = img.size[0], img.size[1], img.format or ""
    except OSError:
        return None
    if fmt not in _MIME:
        return None
    src = f"data:{_MIME[fmt]};base64,{base64.b64encode(data).decode()}"
    return {"src": src, "width": width, "height": height}


def _audiences(ctx: Context, draft: Draft) -> list[Any]:
    own = ctx.scope.principal.advertiser_id
    raw = draft.get("advertiser_id")
    advertiser = own if own is not None else (int(raw) if raw.isdigit() else None)
    if advertiser is None:
        return []
    return ctx.catalog.audiences.all({"advertiser_id": advertiser})


def _chosen(campaign: Campaign | None, audiences: list[Any]) -> dict[str, list[str]]:
    """The targeting of a checked campaign in words, for the last step's summary."""
    if campaign is None:
        return {"genres": [], "devices": [], "audiences": []}
    t = campaign.targeting
    return {
        "genres": [g.label for g in GENRES if g.slug in t.genres],
        "devices": [label for value, label in DEVICES if value in t.devices],
        "audiences": [a.name for a in audiences if a.id in t.audiences],
    }


def _show(
    request: Request,
    viewer: Viewer,
    ctx: Context,
    draft: Draft,
    step: str,
    errors: FormErrors | None = None,
    checked: Checked | None = None,
    status: int = 200,
) -> Response:
    rt = runtime(request)
    errs = errors or FormErrors()
    if step == "confirm" and (checked is None or checked.campaign is None):
        checked = check(draft, "confirm", ctx)
        if checked.campaign is None or checked.creative is None:
            step = first_step_with_errors(checked.errors, "creative")
            errs.by_field.update(checked.errors.by_field)
    fc = None
    if step in ("budget", "audience", "confirm"):
        fc = _forecast(request, rt, check(draft, "audience", ctx).forecast_input)
    preview = _preview(ctx, draft) if step in ("creative", "confirm") else None
    index = STEPS.index(step)
    audiences = _audiences(ctx, draft) if step in ("audience", "confirm") else []
    context = {
        "title": f"Start your campaign: {STEP_TITLES[step]}",
        "step": step,
        "step_number": index + 1,
        "steps": [(s, STEP_TITLES[s]) for s in STEPS],
        "step_title": STEP_TITLES[step],
        "draft": draft,
        "hidden": draft.hidden(step),
        "errors": errs,
        "summary": errs.summary(LABELS),
        "objectives": OBJECTIVES,
        "advertisers": ctx.catalog.advertisers.all() if ctx.scope.is_admin else [],
        "floor": format_money(ctx.floor_cpm_micros, rt.settings.currency),
        "forecast": fc,
        "genres": GENRES,
        "devices": DEVICES,
        "audiences": audiences,
        "sizes": [(str(s), SIZE_NAMES.get(str(s), "")) for s in sorted(DISPLAY_SIZES)],
        "destinations": DESTINATIONS,
        "timezones": _timezones(draft.get("timezone")),
        "preview": preview,
        "campaign": checked.campaign if checked else None,
        "chosen": _chosen(checked.campaign if checked else None, audiences),
        "creative": checked.creative if checked else None,
        "max_upload": f"{rt.settings.max_upload_bytes / (1024 * 1024):g} MB",
        "max_upload_bytes": rt.settings.max_upload_bytes,
    }
    data = {
        "step": step,
        "step_number": index + 1,
        "steps": list(STEPS),
        "fields": list(STEP_FIELDS[step]),
        "values": dict(draft.values),
        "lists": {k: list(v) for k, v in draft.lists.items()},
        "errors": errs.to_json(),
        "forecast": fc,
        "floor_cpm": format_money(ctx.floor_cpm_micros, rt.settings.currency),
        "preview": {"width": preview["width"], "height": preview["height"]} if preview else None,
    }
    return render(request, viewer, f"wizard/{step}.html", context, data=data, status=status)


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def _timezones(current: str) -> list[str]:
    zones = list(_zone_names())
    if current and current not in zones:
        zones.insert(0, current)
    return zones


async def _upload(form: FormData, max_bytes: int) -> bytes | None:
    item = form.get("file")
    if not isinstance(item, UploadFile) or not item.filename:
        return None
    return await item.read(max_bytes + 1)


@page(Role.ADVERTISER, Role.ADMIN)
async def new_campaign(request: Request, viewer: Viewer) -> Response:
    """GET: the first step. POST: check the posted step and show the next one (or the same
    one with its errors); the last step creates the campaign and its creative."""
    rt = runtime(request)
    ctx = _ctx(rt, viewer)
    if request.method == "GET":
        return _show(
            request, viewer, ctx, _defaults(Draft.read(request.query_params), rt), STEPS[0]
        )
    form = await request.form()
    draft = Draft.read(form)
    step = field(form, "step")
    step = step if step in STEPS else STEPS[0]
    index = STEPS.index(step)
    if field(form, "action") == "back":
        return _show(request, viewer, ctx, draft, STEPS[max(0, index - 1)])
    if step == "confirm" and not runtime(request).counters.claim(
        f"wizard:{draft.get('draft')}", CLAIM_TTL_S
    ):
        return _already_submitted(request, viewer)
    upload = await _upload(form, ctx.max_upload_bytes) if step == "creative" else None
    checked = check(draft, step, ctx, upload)
    if checked.errors:
        if step == "confirm":  # the claim is spent; a fresh draft id lets a fix go through
            checked = replace(checked, draft=checked.draft.with_values(draft=_new_draft_id()))
        target = first_step_with_errors(checked.errors, step)
        return _show(
            request, viewer, ctx, checked.draft, target, checked.errors,
            status=checked.errors.status,
        )  # fmt: skip
    if step != "confirm":
        nxt = STEPS[index + 1]
        ahead = check(checked.draft, nxt, ctx) if nxt == "confirm" else None
        return _show(request, viewer, ctx, checked.draft, nxt, checked=ahead)
    return _submit(request, viewer, ctx, checked)


def _new_draft_id() -> str:
    return secrets.token_urlsafe(16)


def _already_submitted(request: Request, viewer: Viewer) -> Response:
    return render(
        request,
        viewer,
        "error.html",
        {
            "title": "Already submitted",
            "message": "This campaign was submitted already. Find it in your campaigns.",
        },
        data={"error": {"code": "conflict", "message": "already submitted"}},
        status=409,
    )


def _submit(request: Request, viewer: Viewer, ctx: Context, checked: Checked) -> Response:
    """Create the campaign and its creative (the draft id is already claimed)."""
    rt = runtime(request)
    try:
        creative = commit(checked, ctx, rt.settings.uploads_dir, rt.settings.base_url)
    except BackbeatError as exc:
        errors = errors_of(exc, CAMPAIGN_ALIASES, known=OWNER)
        fresh = checked.draft.with_values(draft=_new_draft_id())
        target = first_step_with_errors(errors, "confirm")
        return _show(request, viewer, ctx, fresh, target, errors, status=exc.status)
    campaign = rt.catalog.campaigns.get(creative.campaign_id)
    return _done(request, viewer, campaign, creative)


def _done(request: Request, viewer: Viewer, campaign: Campaign, creative: Creative) -> Response:
    data = {
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "status": campaign.status.value,
            "objective": campaign.objective.value,
        },
        "creative": {
            "id": creative.id,
            "name": creative.name,
            "review_status": creative.review_status.value,
            "asset_url": creative.asset_url,
            "size": str(creative.size),
        },
    }
    context = {"title": "Campaign submitted for review", "campaign": campaign, "creative": creative}
    return render(request, viewer, "wizard/done.html", context, data=data, status=201)


@page(Role.ADVERTISER, Role.ADMIN)
async def forecast(request: Request, viewer: Viewer) -> Response:
    """GET /campaigns/new/forecast?budget=…: the planner's forecast as JSON, for the page's
    script as the user types. Takes the wizard's field names (`budget` is short for
    `budget_total`); missing ones get the wizard's suggestions."""
    rt = runtime(request)
    ctx = _ctx(rt, viewer)
    draft = Draft.read(request.query_params)
    budget = request.query_params.get("budget", "")
    if budget and not draft.get("budget_total"):
        draft = draft.with_values(budget_total=budget.strip()[:40])
    draft = _defaults(draft, rt)
    checked = check(draft, "audience", ctx)
    errors = checked.errors.only(FORECAST_FIELDS)
    fc = None if errors else _forecast(request, rt, checked.forecast_input)
    if fc is None:
        if not errors:
            errors.add(None, "no forecast for these values")
        return JSONResponse({"forecast": None, "errors": errors.to_json()}, status_code=422)
    return JSONResponse({"forecast": fc, "errors": []})
