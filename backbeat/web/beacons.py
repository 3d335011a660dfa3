"""The impression and viewable beacons, ``/i/{token}`` and ``/v/{token}``, as plain ASGI.

They are the busiest requests a network gets (every ad shown sends one or two) and their
answer is an empty 204, so :class:`BeaconRoutes` sits in front of the router: no route
scan, no exception middleware wrappers, no Response object per request.

In one process a beacon goes through :func:`~backbeat.web.tracking_routes.track`, which
counts it on the spot. A serving worker of several only makes the hit durable and
answers (the ingest process counts it), and takes :func:`spool_hit`: the same checks and
the same :class:`~backbeat.tracking.hits.Hit`, without building what only counting reads
(the token's decoded payload, an EventContext, a Request).
"""

from __future__ import annotations

from functools import lru_cache

from starlette.requests import Request, cookie_parser
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backbeat.config import VisitorMode
from backbeat.domain.events import EventType
from backbeat.store.events.spool import SpoolUnavailable
from backbeat.tracking.errors import TokenRejected
from backbeat.tracking.headers import CACHED_QUERY_BYTES, pick_headers, query_param, url_host
from backbeat.tracking.hits import Hit
from backbeat.tracking.pipeline import PURPOSE_HEADERS
from backbeat.tracking.useragent import is_bot
from backbeat.tracking.visitor import VISITOR_COOKIE, identify
from backbeat.web.client_address import visitor_address
from backbeat.web.runtime import Runtime
from backbeat.web.serving_routes import error_response
from backbeat.web.tracking_routes import BEACON_HEADERS, READ_HEADERS, track

_PURPOSE_NAMES = tuple(name.lower() for name in PURPOSE_HEADERS)


def _page_of(query: bytes) -> tuple[bool, str | None]:
    page = query_param(query, "u")
    return bool(page), (url_host(page) if page else None)


_page_of_cached = lru_cache(maxsize=4096)(_page_of)


def page_host(query: bytes, referer: str | None) -> str | None:
    """The host of the page the ad was on, as EventContext.build takes it: from the tag's
    ``u`` parameter when one is given, else from the Referer. A page's beacons repeat its
    query string, so short ones are remembered."""
    given, host = (_page_of_cached if len(query) <= CACHED_QUERY_BYTES else _page_of)(query)
    return host if given else url_host(referer)


async def spool_hit(rt: Runtime, scope: Scope, kind: EventType, token: str) -> Response | None:
    """A serving worker's beacon: verify the link, describe the request as a Hit and
    return once the hit is durable in this worker's spool (None), or return the refusal.

    Builds exactly the Hit that :func:`~backbeat.web.tracking_routes.track` hands to the
    ingest process (``tests/web/test_beacons.py`` holds the two to that)."""
    assert rt.hits is not None
    ts = rt.clock().timestamp()
    secret = rt.secret
    try:
        rt.rejections.verify_kind(token, secret, ts, kind)
    except TokenRejected as exc:
        return error_response(exc, BEACON_HEADERS)
    h = pick_headers(scope["headers"], READ_HEADERS)
    ua = h.get("user-agent", "")
    mode = rt.settings.visitor_mode
    cookie = None
    if mode is VisitorMode.COOKIE and "cookie" in h:
        cookie = cookie_parser(h["cookie"]).get(VISITOR_COOKIE)
    client = scope.get("client")
    visitor = identify(
        secret=secret,
        mode=mode,
        now=ts,
        ip=visitor_address(client[0] if client else "", scope["headers"], rt.proxies),
        user_agent=ua,
        dnt=h.get("dnt"),
        gpc=h.get("sec-gpc"),
        cookie=cookie,
    )
    purpose = " ".join(h[name].lower() for name in _PURPOSE_NAMES if name in h)
    hit = Hit(
        rt.new_id(), ts, kind, token, scope["method"].upper(), is_bot(ua), purpose,
        page_host(scope["query_string"], h.get("referer")), visitor.id, visitor.key,
    )
    try:
        await rt.hits.submit([hit])
    except SpoolUnavailable as exc:
        return error_response(exc, BEACON_HEADERS)
    return None


_BEACON_KINDS = {"/i/": EventType.IMPRESSION, "/v/": EventType.VIEWABLE}
_BEACON_METHODS = frozenset({"GET", "POST", "HEAD"})
_NOT_ALLOWED = PlainTextResponse("Method Not Allowed", 405, {"Allow": "GET, POST, HEAD"})
_NO_CONTENT_START = {
    "type": "http.response.start",
    "status": 204,
    "headers": [(k.lower().encode(), v.encode()) for k, v in BEACON_HEADERS.items()],
}
_EMPTY_BODY = {"type": "http.response.body", "body": b""}


class BeaconRoutes:
    """The beacons in front of the router; everything else (clicks included) goes on to
    the app. A path they take is what a route ``/i/{token}`` would match (one non-empty
    segment); a method other than GET, POST or HEAD is answered 405. Installed as the
    app's middleware, so Starlette's server-error middleware still turns a crash into a
    500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            kind = _BEACON_KINDS.get(path[:3])
            token = path[3:]
            if kind is not None and token and "/" not in token:
                if scope["method"] not in _BEACON_METHODS:
                    await _NOT_ALLOWED(scope, receive, send)
                    return
                rt: Runtime = scope["app"].state.runtime
                refusal: Response | None
                if rt.hits is not None:
                    refusal = await spool_hit(rt, scope, kind, token)
                else:
                    scope["path_params"] = {"token": token}
                    result = await track(Request(scope, receive), kind)
                    refusal = result if isinstance(result, Response) else None
                if refusal is not None:
                    await refusal(scope, receive, send)
                else:
                    await send(_NO_CONTENT_START)
                    await send(_EMPTY_BODY)
                return
        await self.app(scope, receive, send)
