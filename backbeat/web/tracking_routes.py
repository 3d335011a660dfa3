"""Tracking: impression `/i/{token}`, viewable `/v/{token}`, click `/c/{token}`.

The two beacons reach :func:`track` through :class:`~backbeat.web.beacons.BeaconRoutes`,
plain ASGI in front of the router; the click is a route (it answers with a redirect
built from the catalog).

A link with a bad, malformed or expired signature is refused outright (403/410) and only
counted in the rejection tally. Every authentic event goes through the counting pipeline;
valid and invalid events are both stored (invalid ones flagged with their DropReason), and
the beacon is answered only after the event is durable in the spool. HEAD and prefetches
are answered but not stored. A click always lands on the creative's destination from the
catalog, even when the click itself is not billable.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request, cookie_parser
from starlette.responses import HTMLResponse, RedirectResponse, Response

from backbeat.config import VisitorMode
from backbeat.domain.creative import Creative
from backbeat.domain.events import Event, EventType
from backbeat.store.events.spool import SpoolUnavailable
from backbeat.tracking.errors import TokenRejected, WrongKind
from backbeat.tracking.headers import pick_headers, query_param
from backbeat.tracking.hits import Hit, count_hit
from backbeat.tracking.landing import click_id, landing_url
from backbeat.tracking.pipeline import PURPOSE_HEADERS, EventContext, Outcome
from backbeat.tracking.signing import TrackingPayload
from backbeat.tracking.useragent import is_bot
from backbeat.tracking.visitor import VISITOR_COOKIE, Visitor, identify
from backbeat.web.runtime import Runtime
from backbeat.web.serving_routes import client_ip, error_response

# What track() reads: the visitor's, and EventContext.build's (prefetch hints, Referer, UA).
READ_HEADERS = frozenset(
    {b"user-agent", b"dnt", b"sec-gpc", b"cookie", b"referer"}
    | {name.lower().encode() for name in PURPOSE_HEADERS}
)
BEACON_HEADERS = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}


@dataclass
class Tracked:
    payload: TrackingPayload
    visitor: Visitor
    outcome: Outcome | None  # None: the ingest process counts it (several workers)
    event: Event | None


def creative_of(rt: Runtime, campaign_id: int, creative_id: int) -> Creative | None:
    entry = rt.holder.current().campaigns.get(campaign_id)
    if entry is not None:
        for cr in entry.creatives:
            if cr.id == creative_id:
                return cr
    return rt.catalog.creatives.find(creative_id)


async def track(request: Request, kind: EventType) -> Tracked | Response:
    """Verify, then count and store (one process) or hand the hit to the ingest process
    (several workers). Returns a refusal response or what was tracked."""
    rt: Runtime = request.app.state.runtime
    now = rt.clock()
    ts = now.timestamp()
    try:
        payload = rt.rejections.verify(request.path_params["token"], rt.secret, ts)
        if payload.kind is not kind:  # a link of another kind
            raise WrongKind(kind.value, payload.kind.value)
    except TokenRejected as exc:
        if isinstance(exc, WrongKind):
            rt.rejections.add(exc.reason)
        return error_response(exc, BEACON_HEADERS)
    h = pick_headers(request.scope["headers"], READ_HEADERS)  # one pass, not one per name
    mode = rt.settings.visitor_mode
    cookie = None
    if mode is VisitorMode.COOKIE and "cookie" in h:
        cookie = cookie_parser(h["cookie"]).get(VISITOR_COOKIE)
    visitor = identify(
        secret=rt.secret,
        mode=mode,
        now=ts,
        ip=client_ip(request),
        user_agent=h.get("user-agent", ""),
        dnt=h.get("dnt"),
        gpc=h.get("sec-gpc"),
        cookie=cookie,
    )
    ctx = EventContext.build(
        method=request.method,
        headers=h,
        payload=payload,
        visitor=visitor,
        now=ts,
        page_url=query_param(request.scope["query_string"], "u"),
    )
    hit = Hit(
        rt.new_id(), ts, kind, request.path_params["token"], ctx.method, is_bot(ctx.user_agent),
        ctx.purpose, ctx.page_host, visitor.id, visitor.key,
    )
    try:
        if rt.hits is not None:  # several workers: the ingest process counts it
            await rt.hits.submit([hit])
            return Tracked(payload, visitor, None, None)
        counted = count_hit(hit, rt.counting, payload, now)
        if counted.event is None:
            return Tracked(payload, visitor, counted.outcome, None)
        await rt.ingest.submit([counted.event])
    except SpoolUnavailable as exc:
        return error_response(exc, BEACON_HEADERS)
    return Tracked(payload, visitor, counted.outcome, counted.event)


def _no_content() -> Response:
    return Response(status_code=204, headers=BEACON_HEADERS)


async def impression(request: Request) -> Response:
    """The impression beacon for in-process callers (the simulator); HTTP requests reach
    :func:`track` through :class:`~backbeat.web.beacons.BeaconRoutes`."""
    result = await track(request, EventType.IMPRESSION)
    return result if isinstance(result, Response) else _no_content()


async def viewable(request: Request) -> Response:
    """The viewable beacon for in-process callers, as :func:`impression`."""
    result = await track(request, EventType.VIEWABLE)
    return result if isinstance(result, Response) else _no_content()


_EXPIRED_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Link no longer valid</title><body style="font-family:sans-serif;margin:3rem">
<h1>This ad link is no longer valid</h1><p>Reload the page you came from to see the
current ad.</p></body></html>"""


async def click(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    result = await track(request, EventType.CLICK)
    if isinstance(result, Response):
        return HTMLResponse(_EXPIRED_PAGE, status_code=result.status_code)
    p = result.payload
    creative = creative_of(rt, p.campaign_id, p.creative_id)
    campaign = rt.campaign(p.campaign_id)
    if creative is None or campaign is None:  # deleted since the ad was served
        return HTMLResponse(_EXPIRED_PAGE, status_code=410)
    target = landing_url(
        creative.destination_url,
        campaign_id=p.campaign_id,
        campaign_name=campaign.name,
        creative_id=p.creative_id,
        site_id=p.site_id,
        fmt=creative.format,
        click=click_id(p.decision_id, rt.secret),
    )
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
