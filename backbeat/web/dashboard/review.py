"""The creative review queue (admin): every pending ad with a preview at its real size, who
it is for, and where it links (the host highlighted, disguises called out); approve it, or
reject it with a reason the advertiser can act on."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backbeat.domain.accounts import Role
from backbeat.domain.campaign import Campaign
from backbeat.domain.creative import Creative, ReviewStatus
from backbeat.domain.parties import Advertiser
from backbeat.errors import BackbeatError, NotFound, ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api import creatives as creatives_api
from backbeat.web.api.tenancy import Scope
from backbeat.web.dashboard.base import Viewer, field, not_found, page, render, runtime
from backbeat.web.dashboard.form_errors import FormErrors, errors_of

QUEUE_LIMIT = 100
DECISIONS = ("approve", "reject")


def destination_parts(url: str) -> dict[str, str]:
    """The URL split so a page can highlight the host: `before` + `host` + `after` is the URL
    as written. `warning` explains anything that disguises where the link really goes."""
    parts = urlsplit(url)
    prefix = f"{parts.scheme}://"
    host = parts.hostname or ""
    if not url.lower().startswith(prefix.lower()) or not host:
        return {"before": url, "host": "", "after": "", "warning": ""}
    netloc = url[len(prefix) : len(prefix) + len(parts.netloc)]
    userinfo, at, hostport = netloc.rpartition("@")
    host_text = hostport[: len(host)] if hostport.lower().startswith(host) else hostport
    warnings = []
    if at:
        warnings.append(
            f"The address has “{userinfo}@” before the host, which can disguise it: "
            f"the browser really goes to {host}."
        )
    if not host.isascii():
        try:
            shown = host.encode("idna").decode("ascii")
        except UnicodeError:
            shown = "an address browsers may refuse"
        warnings.append(f"The host uses non-Latin letters; browsers see it as {shown}.")
    return {
        "before": prefix + (userinfo + at),
        "host": host_text,
        "after": hostport[len(host_text) :] + url[len(prefix) + len(netloc) :],
        "warning": " ".join(warnings),
    }


def review(
    catalog: Catalog, scope: Scope, creative_id: int, decision: str, reason: str
) -> Creative:
    """Approve or reject one creative (admins only), by the creative's own rules."""
    scope.require_admin()
    if decision not in DECISIONS:
        raise ValidationFailed.one("decision", "approve or reject")
    with catalog.transaction():
        current = creatives_api.load(catalog, scope, creative_id)
        reviewed = current.approve() if decision == "approve" else current.reject(reason)
        return catalog.creatives.update(reviewed)


def _item(c: Creative, campaign: Campaign | None, advertiser: Advertiser | None) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "size": str(c.size),
        "width": c.size.width,
        "height": c.size.height,
        "asset_url": c.asset_url,
        "asset_kind": c.asset_kind.value,
        "alt_text": c.alt_text,
        "destination_url": c.destination_url,
        "destination_kind": c.destination_kind.value,
        "destination": destination_parts(c.destination_url),
        "created_at": c.created_at.isoformat() if c.created_at else None,
        "advertiser": {"id": c.advertiser_id, "name": advertiser.name if advertiser else "?"},
        "campaign": {
            "id": c.campaign_id,
            "name": campaign.name if campaign else "?",
            "status": campaign.status.value if campaign else "?",
            "objective": campaign.objective.value if campaign else "?",
        },
    }


def pending(catalog: Catalog) -> tuple[list[dict[str, Any]], int]:
    """The oldest pending creatives first (at most QUEUE_LIMIT), and how many wait in all."""
    page_ = catalog.creatives.page(
        limit=QUEUE_LIMIT, order="id", where={"review_status": ReviewStatus.PENDING.value}
    )
    campaigns: dict[int, Campaign | None] = {}
    advertisers: dict[int, Advertiser | None] = {}
    items = []
    for c in page_.items:
        if c.campaign_id not in campaigns:
            campaigns[c.campaign_id] = catalog.campaigns.find(c.campaign_id)
        if c.advertiser_id not in advertisers:
            advertisers[c.advertiser_id] = catalog.advertisers.find(c.advertiser_id)
        items.append(_item(c, campaigns[c.campaign_id], advertisers[c.advertiser_id]))
    return items, page_.total


def _flash(request: Request, catalog: Catalog) -> str:
    for key, status, text in (
        ("approved", ReviewStatus.APPROVED, "Approved “{}”. The advertiser can now activate "
         "the campaign."),
        ("rejected", ReviewStatus.REJECTED, "Rejected “{}”. The advertiser sees your reason."),
    ):  # fmt: skip
        raw = request.query_params.get(key, "")
        if raw.isdigit():
            c = catalog.creatives.find(int(raw))
            if c is not None and c.review_status is status:
                return text.format(c.name)
    return ""


def _show(
    request: Request,
    viewer: Viewer,
    errors: dict[int, FormErrors] | None = None,
    reasons: dict[int, str] | None = None,
    status: int = 200,
) -> Response:
    catalog = runtime(request).catalog
    items, total = pending(catalog)
    errs = errors or {}
    summary: list[tuple[str | None, str]] = []
    for cid, e in errs.items():
        summary.extend(e.summary({f"reason_{cid}": f"Reason for creative {cid}"}))
    context = {
        "title": "Creative review",
        "items": items,
        "total": total,
        "item_errors": errs,
        "empty_errors": FormErrors(),
        "reasons": reasons or {},
        "summary": summary,
        "flash": _flash(request, catalog),
    }
    data = {
        "pending": items,
        "total": total,
        "errors": {str(k): v.to_json() for k, v in errs.items()},
    }
    return render(request, viewer, "network/review.html", context, data=data, status=status)


@page(Role.ADMIN)
async def queue(request: Request, viewer: Viewer) -> Response:
    """GET /network/review: the pending creatives."""
    return _show(request, viewer)


@page(Role.ADMIN)
async def decide(request: Request, viewer: Viewer) -> Response:
    """POST /network/review/{id}: `decision` = approve | reject, with `reason` to reject."""
    creative_id: int = request.path_params["creative_id"]
    form = await request.form()
    decision = field(form, "decision")
    reason = field(form, "reason")[:2000]
    catalog = runtime(request).catalog
    try:
        done = review(catalog, viewer.scope, creative_id, decision, reason)
    except NotFound:
        return not_found(request, viewer, "creative")
    except BackbeatError as exc:
        errors = errors_of(exc, {"reason": f"reason_{creative_id}"})
        return _show(
            request, viewer, {creative_id: errors}, {creative_id: reason}, status=exc.status
        )
    key = "approved" if done.review_status is ReviewStatus.APPROVED else "rejected"
    return RedirectResponse(f"/network/review?{key}={creative_id}", status_code=303)
