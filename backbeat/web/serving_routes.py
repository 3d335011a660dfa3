"""Ad decisions over HTTP: the ad tag's `/serve`, the iframe tag's `/frame/{id}`, the
server-to-server `POST /decide`, and `/tag.js` itself. Lean Starlette, orjson, no pydantic.

`GET /serve` is the busiest request after the beacons, so :class:`ServeRoute` answers it
in front of the router, as plain ASGI: the request's headers are read in one pass, and
the answer is two ASGI messages rather than a Response object; Starlette's route scan,
its exception wrappers, Request and Response cost about a seventh of a decision's CPU.
``serve`` (a Starlette endpoint) gives the same answer from a Request, for the router's
other methods and for the simulator, which calls it directly.

Each slot's decision gets a UUIDv7 id and three signed links (impression, viewable,
click). A decision is recorded as an event (type `decision`; a no-fill has campaign 0) so
fill rate can be reported; it is queued without waiting for disk, unlike beacons.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import orjson
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backbeat.config import VisitorMode
from backbeat.domain.campaign import Pricing
from backbeat.domain.creative import AssetKind
from backbeat.domain.events import DropReason, Event, EventType
from backbeat.errors import BackbeatError, FieldError, ValidationFailed
from backbeat.serving.request import UNKNOWN_PLACEMENT, AdRequest, Decision, NoFill
from backbeat.tracking.geo import request_country
from backbeat.tracking.headers import CACHED_QUERY_BYTES, pick_headers, query_param, url_host
from backbeat.tracking.pipeline import PURPOSE_HEADERS, audience_key, purpose_of, speculative
from backbeat.tracking.signing import TrackingPayload, sign_links
from backbeat.tracking.useragent import classify
from backbeat.tracking.visitor import VISITOR_COOKIE, Visitor, identify
from backbeat.web.auth import authenticate_token
from backbeat.web.bodies import read_body
from backbeat.web.client_address import visitor_address
from backbeat.web.runtime import Runtime

MAX_SLOTS = 12
MAX_PARAM = 2048
_TAG_JS: bytes | None = None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_response(exc: BackbeatError, headers: dict[str, str] | None = None) -> Response:
    return json_response(exc.to_dict(), exc.status, headers)


def _cors(origin: str | None) -> dict[str, str]:
    if not origin:
        return {"Cache-Control": "no-store"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
        "Cache-Control": "no-store",
    }


def client_ip(request: Request) -> str:
    """The visitor's address: the peer's, or behind a trusted proxy the one it forwarded."""
    peer = request.client.host if request.client else ""
    rt: Runtime = request.app.state.runtime
    return visitor_address(peer, request.scope["headers"], rt.proxies)


def with_click_tag(asset_url: str, click_url: str) -> str:
    """An HTML5 creative's URL with its click URL as the ``clickTag`` query parameter, the
    IAB's convention for HTML5 ads: the creative opens ``clickTag`` when clicked, so the
    click goes through the signed, counted redirect like an image ad's."""
    parts = urlsplit(asset_url)
    tag = "clickTag=" + quote(click_url, safe="")
    query = f"{parts.query}&{tag}" if parts.query else tag
    return urlunsplit(parts._replace(query=query))


_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1  # the catalog's ids are 32-bit


def parse_id(raw: str, field: str) -> int:
    """One catalog id written in ASCII digits (spaces around it allowed). Python's ``int``
    would also take a sign, underscores and other scripts' digits; an id has none."""
    text = raw.strip(" \t")
    if not _ID.fullmatch(text) or not 0 < int(text) <= MAX_ID:
        raise ValidationFailed.one(field, f"ids are whole numbers from 1 to {MAX_ID}")
    return int(text)


def _parse_ids(raw: str, field: str = "p") -> list[int]:
    if len(raw) > MAX_PARAM:
        raise ValidationFailed.one(field, "too long")
    parts = [p for p in raw.split(",") if p.strip()]
    if not parts:
        raise ValidationFailed.one(field, "give one or more placement ids, e.g. p=12,13")
    if len(parts) > MAX_SLOTS:
        raise ValidationFailed.one(field, f"at most {MAX_SLOTS} slots per request")
    return [parse_id(p, field) for p in parts]


def _serve_query(raw: bytes) -> tuple[tuple[int, ...], str | None]:
    """The placement ids and the page's host (None: no usable ``u``) of a /serve query
    string; raises ValidationFailed for bad ids."""
    ids = _parse_ids(query_param(raw, "p") or "")
    return tuple(ids), url_host((query_param(raw, "u") or "")[:MAX_PARAM])


# Every view of a page asks with the same query string (its slots and its URL), so short
# ones are remembered, as the beacons remember theirs. A bad one raises every time.
_serve_query_cached = lru_cache(maxsize=4096)(_serve_query)


class Slots:
    """Turns decisions into ad JSON with signed links, and into decision events."""

    def __init__(
        self,
        rt: Runtime,
        *,
        visitor: Visitor,
        country: str,
        device: str,
        bot: bool,
        now: datetime,
        record: bool = True,
    ) -> None:
        self.rt = rt
        self.visitor = visitor
        self.country = country
        self.device = device
        self.bot = bot
        self.now = now
        self.events: list[Event] = []
        # False for HEAD and prefetches: answered, but not ad requests, so not recorded.
        self.record = record

    def audiences(self, audience_id: int) -> bool:
        aud = self.rt.holder.current().audiences.get(audience_id)
        if aud is None or self.visitor.anonymous:
            return False
        rule = aud.rule
        seen = self.rt.counters.engagement_count(
            audience_key(rule.engagement, rule.campaign_id),
            self.visitor.id,
            self.now.timestamp(),
            rule.days * 86_400,
        )
        return seen >= rule.min_count

    def request(self, placement_id: int, page_host: str) -> AdRequest:
        return AdRequest(
            placement_id=placement_id,
            page_host=page_host,
            country=self.country,
            device=self.device,  # type: ignore[arg-type]
            visitor=None if self.visitor.anonymous else self.visitor.id,
            now=self.now,
            audiences=self.audiences,
        )

    def ad(self, d: Decision) -> dict[str, Any]:
        rt, c, cr = self.rt, d.campaign, d.creative
        expires = int((self.now + timedelta(seconds=rt.settings.link_ttl_seconds)).timestamp())
        cap = c.frequency_cap
        base = TrackingPayload(
            kind=EventType.IMPRESSION,
            decision_id=d.id,
            campaign_id=d.campaign_id,
            creative_id=d.creative_id,
            placement_id=d.placement.id or 0,
            site_id=d.site.id or 0,
            advertiser_id=c.advertiser_id,
            publisher_id=d.site.publisher_id,
            price_micros=0,
            expires=expires,
            format=cr.format,
            size=str(cr.size),
            genre=d.genre,
            genre_match=d.genre_match,
            objective=c.objective,
            country=self.country,
            device=self.device,  # type: ignore[arg-type]
            visitor=None if self.visitor.anonymous else self.visitor.id,
            site_domain=d.site.domain if rt.require_domain_match else "",
            freq_window_s=cap.hours * 3600 if cap else 86_400,
        )
        cpm = d.pricing is Pricing.CPM
        imp, view, click = sign_links(
            base, rt.secret, d.price_micros if cpm else 0, 0 if cpm else d.price_micros
        )
        root = rt.settings.base_url
        self.events.append(self._event(d))
        click_url = f"{root}/c/{click}"
        src = cr.asset_url
        if cr.asset_kind is AssetKind.HTML5:
            src = with_click_tag(src, click_url)
        return {
            "placement": d.placement.id,
            "decision": d.id,
            "format": cr.format.value,
            "kind": cr.asset_kind.value,
            "width": cr.size.width,
            "height": cr.size.height,
            "src": src,
            "alt": cr.alt_text,
            "imp": f"{root}/i/{imp}",
            "view": f"{root}/v/{view}",
            "click": click_url,
        }

    def _event(self, d: Decision | None, placement_id: int = 0) -> Event:
        return Event(
            id=self.rt.new_id(),
            ts=self.now,
            type=EventType.DECISION,
            valid=not self.bot,
            decision_id=d.id if d else "",
            campaign_id=d.campaign_id if d else 0,
            creative_id=d.creative_id if d else 0,
            advertiser_id=d.campaign.advertiser_id if d else 0,
            site_id=(d.site.id or 0) if d else 0,
            publisher_id=d.site.publisher_id if d else 0,
            placement_id=(d.placement.id or 0) if d else placement_id,
            visitor=self.visitor.id,
            country=self.country,
            device=self.device,
            format=d.creative.format.value if d else "",
            size=str(d.creative.size) if d else "",
            genre=d.genre if d else "",
            genre_match=d.genre_match if d else False,
            objective=d.campaign.objective.value if d else "",
            drop_reason=DropReason.BOT if self.bot else None,
        )

    def fill(self, placement_ids: Sequence[int], page_host: str) -> dict[str, Any]:
        reqs = [self.request(pid, page_host) for pid in placement_ids]
        ads: list[dict[str, Any]] = []
        nofill: list[dict[str, Any]] = []
        for pid, result in zip(placement_ids, self.rt.decider.decide_many(reqs), strict=True):
            if isinstance(result, NoFill):
                # A placement that does not exist is not inventory: no decision to record.
                if UNKNOWN_PLACEMENT not in result.reasons:
                    self.events.append(self._event(None, pid))
                nofill.append({"placement": pid, "reasons": result.reasons})
            else:
                ads.append(self.ad(result))
        if self.events and self.record:
            self.rt.ingest.submit_nowait(self.events)
        return {"ads": ads, "nofill": nofill}


def _slots(
    rt: Runtime,
    h: Mapping[str, str],
    cookie: str | None,
    ua: str,
    ip: str,
    *,
    record: bool = True,
) -> Slots:
    """The request's visitor, country, device and bot verdict. `h` is the request's headers
    (Starlette's, or the lower-case names :func:`pick_headers` took); `cookie` is the value
    of the visitor cookie, if the request had one; `record` whether its decisions are."""
    now = rt.clock()
    info = classify(ua)
    visitor = identify(
        secret=rt.secret,
        mode=rt.settings.visitor_mode,
        now=now.timestamp(),
        ip=ip,
        user_agent=ua,
        dnt=h.get("dnt"),
        gpc=h.get("sec-gpc"),
        cookie=cookie,
    )
    country = request_country(ip, h, rt.settings.trusted_country_header)
    return Slots(
        rt, visitor=visitor, country=country, device=info.device.value, bot=info.bot, now=now,
        record=record,
    )


def _request_slots(
    rt: Runtime, request: Request, ua: str, ip: str, *, record: bool = True
) -> Slots:
    cookie = request.cookies.get(VISITOR_COOKIE)
    return _slots(rt, request.headers, cookie, ua, ip, record=record)


def _page(
    rt: Runtime, scope: Scope, h: Mapping[str, str], cookie: str | None
) -> tuple[dict[str, Any], Visitor]:
    """GET /serve's answer (the ads and no-fills) and the request's visitor."""
    raw = scope["query_string"]
    ids, host = (_serve_query_cached if len(raw) <= CACHED_QUERY_BYTES else _serve_query)(raw)
    host = host or url_host(h.get("referer")) or ""
    client = scope.get("client")
    ip = visitor_address(client[0] if client else "", scope["headers"], rt.proxies)
    record = not speculative(scope["method"], purpose_of(h))
    slots = _slots(rt, h, cookie, h.get("user-agent", ""), ip, record=record)
    return slots.fill(ids, host), slots.visitor


def _with_cookie(resp: Response, rt: Runtime, visitor: Visitor) -> Response:
    if visitor.new_cookie:
        resp.set_cookie(
            VISITOR_COOKIE,
            visitor.new_cookie,
            max_age=180 * 86_400,
            httponly=True,
            secure=rt.settings.base_url.startswith("https"),
            samesite="none" if rt.settings.base_url.startswith("https") else "lax",
        )
    return resp


async def serve(request: Request) -> Response:
    """GET /serve?p=12,13&u=<page URL>: ads for every slot of a page in one request."""
    rt: Runtime = request.app.state.runtime
    headers = _cors(request.headers.get("origin"))
    try:
        body, visitor = _page(
            rt, request.scope, request.headers, request.cookies.get(VISITOR_COOKIE)
        )
    except BackbeatError as exc:
        return error_response(exc, headers)
    return _with_cookie(json_response(body, headers=headers), rt, visitor)


_SERVE_HEADERS = frozenset(
    {b"origin", b"user-agent", b"referer", b"dnt", b"sec-gpc", b"cookie"}
    | {name.lower().encode() for name in PURPOSE_HEADERS}
)
_NO_STORE = [(b"cache-control", b"no-store")]
_JSON = (b"content-type", b"application/json")


@lru_cache(maxsize=8)
def _serve_header_names(country_header: str | None) -> frozenset[bytes]:
    """The headers GET /serve reads: its own, and the trusted country header if set."""
    if not country_header:
        return _SERVE_HEADERS
    return _SERVE_HEADERS | {country_header.lower().encode("latin-1")}


async def serve_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """GET (or HEAD) /serve as plain ASGI: the same answer as :func:`serve`, headers
    included, without a Request or a Response on the common path (no visitor cookie to
    set, no error)."""
    rt: Runtime = scope["app"].state.runtime
    settings = rt.settings
    h = pick_headers(scope["headers"], _serve_header_names(settings.trusted_country_header))
    origin = h.get("origin")
    cookie = None
    if settings.visitor_mode is VisitorMode.COOKIE and "cookie" in h:
        cookie = cookie_parser(h["cookie"]).get(VISITOR_COOKIE)
    try:
        body, visitor = _page(rt, scope, h, cookie)
    except BackbeatError as exc:
        await error_response(exc, _cors(origin))(scope, receive, send)
        return
    if visitor.new_cookie:
        resp = _with_cookie(json_response(body, headers=_cors(origin)), rt, visitor)
        await resp(scope, receive, send)
        return
    payload = orjson.dumps(body)
    if origin:
        headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in _cors(origin).items()]
    else:
        headers = list(_NO_STORE)
    headers.append((b"content-length", str(len(payload)).encode()))
    headers.append(_JSON)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class ServeRoute:
    """GET and HEAD /serve in front of the router (see the module's docstring); any other
    request, other methods on /serve included (405), goes on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/serve"
            and scope["method"] in ("GET", "HEAD")
        ):
            await serve_asgi(scope, receive, send)
            return
        await self.app(scope, receive, send)


_FRAME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>Advertisement</title>
<style>html,body{{margin:0;padding:0;overflow:hidden;background:transparent}}</style></head>
<body><div data-backbeat-placement="{pid}" data-backbeat-ad="{ad}"></div>
<script src="{root}/tag.js"></script></body></html>"""


async def frame(request: Request) -> Response:
    """GET /frame/{placement_id}: a complete ad page for an iframe tag (no host-page script)."""
    rt: Runtime = request.app.state.runtime
    try:
        pid = parse_id(request.path_params.get("placement_id", ""), "placement_id")
        host = url_host(request.headers.get("referer")) or ""
        ua = request.headers.get("user-agent", "")
        record = not speculative(request.method, purpose_of(request.headers))
        slots = _request_slots(rt, request, ua, client_ip(request), record=record)
        body = slots.fill([pid], host)
    except BackbeatError as exc:
        return error_response(exc)
    ad = body["ads"][0] if body["ads"] else None
    page = _FRAME.format(
        pid=pid, ad=html.escape(json.dumps(ad), quote=True), root=rt.settings.base_url
    )
    resp = Response(page, media_type="text/html", headers={"Cache-Control": "no-store"})
    return _with_cookie(resp, rt, slots.visitor)


async def decide_s2s(request: Request) -> Response:
    """POST /decide: server-to-server decisions for publishers who render ads themselves.

    Body: {"placements": [12], "page_url": "...", "ip": "...", "user_agent": "...",
    "dnt": false}. Auth: a publisher member's (or admin's) API token."""
    rt: Runtime = request.app.state.runtime
    try:
        principal = authenticate_token(
            rt.catalog,
            request.headers.get("authorization", "").removeprefix("Bearer ").strip(),
            rt.clock(),
        )
        raw = await read_body(request, 64 * 1024)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ValidationFailed.one("body", "not valid JSON") from None
        if not isinstance(data, dict):
            raise ValidationFailed.one("body", "must be a JSON object")
        unknown = set(data) - {"placements", "page_url", "ip", "user_agent", "dnt"}
        if unknown:
            raise ValidationFailed(
                "unknown fields", [FieldError(k, "unknown field") for k in sorted(unknown)]
            )
        placements = data.get("placements")
        if not isinstance(placements, list) or not all(type(p) is int for p in placements):
            raise ValidationFailed.one("placements", "a list of placement ids")
        ids = _parse_ids(",".join(str(p) for p in placements), "placements")
        for field_name in ("page_url", "ip", "user_agent"):
            if not isinstance(data.get(field_name, ""), str):
                raise ValidationFailed.one(field_name, "must be a string")
        index = rt.holder.current()
        for pid in ids:
            pe = index.placements.get(pid)
            if pe is None or not (
                principal.is_admin or principal.publisher_id == pe.site.publisher_id
            ):
                raise ValidationFailed.one("placements", f"placement {pid} not found")
        ua = str(data.get("user_agent", ""))[:1024]
        ip = str(data.get("ip", ""))[:64]
        slots = _request_slots(rt, request, ua, ip)
        if data.get("dnt") is True:
            slots.visitor = Visitor("anon", slots.visitor.key)
        body = slots.fill(ids, url_host(str(data.get("page_url", ""))[:MAX_PARAM]) or "")
    except BackbeatError as exc:
        return error_response(exc)
    return json_response(body)


async def tag_js(request: Request) -> Response:
    global _TAG_JS  # noqa: PLW0603 - read once from the package, then served from memory
    if _TAG_JS is None:
        _TAG_JS = files("backbeat.web").joinpath("static/tag.js").read_bytes()
    return Response(
        _TAG_JS,
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )
