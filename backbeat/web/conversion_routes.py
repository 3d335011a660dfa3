"""Conversions: a pixel (`GET /conv`) for pages an advertiser controls (a merch store, a
landing page) and a JSON endpoint (`POST /conv`) for server-side reports.

Attribution credits the last click within `BACKBEAT_CLICK_ATTRIBUTION_DAYS` (click-through),
or failing that an impression within `BACKBEAT_VIEW_ATTRIBUTION_DAYS` (view-through). A click
is found exactly through its `bbclid` (added to every landing URL, like gclid), which works
across days with no cookie; without one, the visitor's recent touches are used, which in
cookieless mode reach back only to the start of the visitor's UTC day.

Parameters: `a` advertiser id (required), `v` value as a decimal string (or, in JSON, an
integer; never a float), `cur` currency (must be the network's: no silent conversion),
`oid` order id of at most 128 characters (a repeated order id is kept but flagged
duplicate), `bbclid` the click id from the landing URL. Text parameters must be strings,
and one that is too long is refused, never cut. A HEAD request or a browser's prefetch of
the pixel is answered and not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from starlette.requests import Request
from starlette.responses import Response

from backbeat.domain.events import Attribution, DropReason, Event, EventType
from backbeat.domain.money import to_micros
from backbeat.errors import BackbeatError, ValidationFailed
from backbeat.store.events.remote import RemoteEventStore
from backbeat.tracking.attribution import Credit, Touch, attribute_conversion
from backbeat.tracking.ids import uuid7_time
from backbeat.tracking.landing import parse_click_id
from backbeat.tracking.pipeline import purpose_of, speculative
from backbeat.tracking.useragent import is_bot
from backbeat.tracking.visitor import identify
from backbeat.web.bodies import read_body
from backbeat.web.runtime import Runtime
from backbeat.web.serving_routes import (
    MAX_PARAM,
    client_ip,
    error_response,
    json_response,
    parse_id,
)

_HEADERS = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}
MAX_BODY = 16 * 1024
MAX_ORDER_ID = 128
MAX_CLICK_ID = 100
SETTLE_S = 2.0  # the longest a conversion waits for the event it names to be stored
_ROW_COLUMNS = (
    "campaign_id, creative_id, advertiser_id, site_id, publisher_id, placement_id,"
    " country, device, format, size, genre, genre_match, objective, ts"
)


def _decision_row(rt: Runtime, decision_id: str, kind: EventType) -> tuple[object, ...] | None:
    """The valid event of `kind` for a decision, read from the store (flushed first)."""
    try:
        served = uuid7_time(decision_id)
    except ValidationFailed:
        return None
    lo = (served - timedelta(minutes=5)).replace(tzinfo=None)
    hi = (served + timedelta(seconds=rt.settings.link_ttl_seconds + 300)).replace(tzinfo=None)
    sql = (
        f"SELECT {_ROW_COLUMNS} FROM events WHERE decision_id = ? AND type = ? AND valid"
        " AND ts BETWEEN ? AND ? ORDER BY ts LIMIT 1"
    )
    params = [decision_id, kind.value, lo, hi]
    rows = rt.store.query(sql, params)
    if not rows and rt.clock() - served <= timedelta(seconds=rt.settings.link_ttl_seconds + 300):
        # Its links still work, so the event may be on its way into the store (with
        # several workers: in a worker's spool, not yet counted).
        rt.settle_events(SETTLE_S)
        rows = rt.store.query(sql, params)
    return rows[0] if rows else None


def _credit_by_click(rt: Runtime, advertiser_id: int, bbclid: str, at: datetime) -> Credit | None:
    decision_id = parse_click_id(bbclid, rt.secret)
    if decision_id is None:
        return None
    row = _decision_row(rt, decision_id, EventType.CLICK)
    if row is None or int(row[2]) != advertiser_id:  # type: ignore[call-overload]
        return None
    clicked = row[13].replace(tzinfo=UTC)  # type: ignore[attr-defined]
    if not timedelta(0) <= at - clicked <= timedelta(days=rt.settings.click_attribution_days):
        return None
    touch = Touch(clicked.timestamp(), decision_id, int(row[0]), int(row[1]))  # type: ignore[call-overload]
    return Credit(Attribution.CLICK_THROUGH, touch, at.timestamp())


def _text(data: Mapping[str, object], name: str, limit: int) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ValidationFailed.one(name, "must be a string")
    if len(value) > limit:
        raise ValidationFailed.one(name, f"at most {limit} characters")
    return value


def _params(data: Mapping[str, object]) -> tuple[int, int, str, str]:
    allowed = {"a", "v", "cur", "oid", "bbclid", "u"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed.one(unknown[0], "unknown parameter")
    a = data.get("a")
    if type(a) is int:
        a = str(a)
    if not isinstance(a, str) or not a:
        raise ValidationFailed.one("a", "the advertiser id (a whole number) is required")
    advertiser_id = parse_id(a, "a")
    value = to_micros(data.get("v", "0"), "v")  # a string or an integer; floats are refused
    if value < 0:
        raise ValidationFailed.one("v", "must not be negative")
    # Too long is refused, not cut: two order ids that differ past a cut would be one order.
    oid = _text(data, "oid", MAX_ORDER_ID)
    bbclid = _text(data, "bbclid", MAX_CLICK_ID)
    _text(data, "u", MAX_PARAM)
    return advertiser_id, value, oid, bbclid


async def conversion(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    if speculative(request.method, purpose_of(request.headers)):
        # A HEAD or a browser's prefetch of the pixel: nobody converted yet.
        return Response(status_code=204, headers=_HEADERS)
    try:
        if request.method == "POST":
            raw = await read_body(request, MAX_BODY)
            try:
                data = orjson.loads(raw or b"{}")
            except orjson.JSONDecodeError:
                raise ValidationFailed.one("body", "not valid JSON") from None
            if not isinstance(data, dict):
                raise ValidationFailed.one("body", "must be a JSON object")
        else:
            data = dict(request.query_params)
        currency = _text(data, "cur", 8).upper() if "cur" in data else rt.settings.currency
        if currency != rt.settings.currency:
            raise ValidationFailed.one(
                "cur", f"values are in {rt.settings.currency}; this network does not convert"
            )
        advertiser_id, value, oid, bbclid = _params(data)
        if rt.catalog.advertisers.find(advertiser_id) is None:
            raise ValidationFailed.one("a", f"advertiser {advertiser_id} not found")
        now = rt.clock()
        ua = request.headers.get("user-agent", "")
        visitor = identify(
            secret=rt.secret,
            mode=rt.settings.visitor_mode,
            now=now.timestamp(),
            ip=client_ip(request),
            user_agent=ua,
            dnt=request.headers.get("dnt"),
            gpc=request.headers.get("sec-gpc"),
            cookie=request.cookies.get("bb_vid"),
        )
        conv = Conversion(advertiser_id, value, oid, bbclid, visitor.id, ua, now)
        if rt.worker:  # attribution and order-id claims live in the ingest process
            store = rt.store
            if not isinstance(store, RemoteEventStore):
                raise TypeError("a serving worker reads the ingest process's store")
            event = await asyncio.to_thread(store.call, CONVERSION_RPC, conv)
            if not isinstance(event, Event):
                raise TypeError(f"the ingest process answered {event!r}")
        else:
            event = attribute(rt, conv)
            await rt.ingest.submit([event])
    except BackbeatError as exc:
        return error_response(exc, _HEADERS)
    if request.method == "POST":
        body = {
            "attribution": event.attribution,
            "campaign_id": event.campaign_id or None,
            "valid": event.valid,
            "drop_reason": event.drop_reason,
        }
        return json_response(body, 202, _HEADERS)
    return Response(status_code=204, headers=_HEADERS)


@dataclass(frozen=True)
class Conversion:
    """A conversion as reported, with its visitor already resolved (no raw IP)."""

    advertiser_id: int
    value_micros: int
    order_id: str
    bbclid: str
    visitor_id: str
    user_agent: str
    at: datetime


CONVERSION_RPC = "conversion"


def record_remote(rt: Runtime, conv: object) -> Event:
    """The ingest process's side of a worker's conversion: attribute it and make its event
    durable before answering."""
    if not isinstance(conv, Conversion):
        raise ValidationFailed.one("conversion", "not a conversion")
    event = attribute(rt, conv)
    rt.writer.submit([event])
    return event


def attribute(rt: Runtime, conv: Conversion) -> Event:
    """Credit a conversion (click-through, view-through or none), flag bots and repeated
    order ids, and build its event."""
    now, ua, advertiser_id = conv.at, conv.user_agent, conv.advertiser_id
    bbclid, oid = conv.bbclid, conv.order_id
    credit = _credit_by_click(rt, advertiser_id, bbclid, now) if bbclid else None
    if credit is None:
        credit = attribute_conversion(
            rt.touches,
            advertiser_id,
            conv.visitor_id,
            now.timestamp(),
            click_days=rt.settings.click_attribution_days,
            view_days=rt.settings.view_attribution_days,
        )
    reason: DropReason | None = None
    if is_bot(ua):
        reason = DropReason.BOT
    elif oid and not rt.counters.claim(f"conv:{advertiser_id}:{oid}", 90 * 86_400):
        reason = DropReason.DUPLICATE
    row = None
    if credit.touch is not None:
        kind = (
            EventType.CLICK
            if credit.attribution is Attribution.CLICK_THROUGH
            else EventType.IMPRESSION
        )
        row = _decision_row(rt, credit.touch.decision_id, kind)
    dims: dict[str, object] = {
        "campaign_id": 0,
        "creative_id": 0,
        "site_id": 0,
        "publisher_id": 0,
        "placement_id": 0,
        "country": "ZZ",
        "device": "other",
        "format": "",
        "size": "",
        "genre": "",
        "genre_match": False,
        "objective": "",
    }
    if row is not None:
        names = [c.strip() for c in _ROW_COLUMNS.split(",")]
        dims.update({k: v for k, v in zip(names, row, strict=True) if k in dims})
    return Event(
        id=rt.new_id(),
        ts=now,
        type=EventType.CONVERSION,
        valid=reason is None,
        decision_id=credit.touch.decision_id if credit.touch else "",
        advertiser_id=advertiser_id,
        visitor=conv.visitor_id,
        drop_reason=reason,
        attribution=credit.attribution,
        value_micros=conv.value_micros,
        **dims,  # type: ignore[arg-type]
    )
