"""A hit: one authentic tracking request, reduced to what the counting rules read.

The tracking routes verify a link, resolve the visitor and describe the request as a
:class:`Hit`; :func:`count_hit` then runs the counting pipeline on it, bills it and turns
it into the stored :class:`~backbeat.domain.events.Event`. In one process both happen on
the request. With several serving workers the route only makes the hit durable (in its
worker's spool) and answers; the ingest process counts every worker's hits in one place,
where the claims, rate windows and budgets that decide validity live. The answer to a
beacon never depends on the verdict, so nothing the browser sees changes.

A hit carries the verified token rather than its decoded payload: the consumer unpacks it
again without a second MAC or expiry check (:func:`~backbeat.tracking.signing.unpack_verified`:
the worker verified it at the hit's time, and the spool is the server's own), which keeps
the record small and the payload format in one place. No raw IP and no User-Agent: the
visitor id and the abuse key are already hashed, and the worker classifies the UA (its
cache is warm from serving the same browsers) so the hit carries only the bot verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from backbeat.config import Settings
from backbeat.domain.campaign import Campaign
from backbeat.domain.events import DropReason, Event, EventType
from backbeat.serving.localtime import LocalTimes
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.protocol import Counters
from backbeat.tracking.attribution import TouchLog
from backbeat.tracking.pipeline import EventContext, Outcome, evaluate
from backbeat.tracking.signing import TrackingPayload, unpack_verified
from backbeat.tracking.useragent import is_bot
from backbeat.tracking.visitor import Visitor

_KINDS = {k.value: k for k in EventType}


@dataclass(frozen=True, slots=True)
class Hit:
    """What a tracking route saw, minus anything personal the rules do not need."""

    id: str  # the id its event is stored under: replaying a hit stores nothing twice
    at: float  # epoch seconds when the request arrived
    kind: EventType  # the route: impression, viewable or click
    token: str  # the verified tracking token
    method: str
    bot: bool  # the User-Agent's verdict (useragent.is_bot), taken by the route
    purpose: str  # lower-cased prefetch headers (see EventContext)
    page_host: str | None
    visitor_id: str
    visitor_key: str

    def context(self, payload: TrackingPayload) -> EventContext:
        return EventContext(
            payload=payload,
            visitor=Visitor(self.visitor_id, self.visitor_key),
            now=self.at,
            method=self.method,
            bot=self.bot,
            purpose=self.purpose,
            page_host=self.page_host,
        )


class HitCodec:
    """Spool codec for hits: an orjson array of field arrays (positional, no keys).

    Hits spooled by an older version carry the User-Agent where the bot verdict now is;
    they are classified on decoding, so a spool left by an upgrade still counts."""

    @staticmethod
    def encode(hits: Sequence[Hit]) -> bytes:
        return orjson.dumps(
            [
                [
                    h.id, h.at, h.kind.value, h.token, h.method, h.bot,
                    h.purpose, h.page_host, h.visitor_id, h.visitor_key,
                ]
                for h in hits
            ]
        )

    @staticmethod
    def decode(payload: bytes) -> list[Hit]:
        out = []
        for row in orjson.loads(payload):
            row[2] = _KINDS[row[2]]
            if row[5].__class__ is str:  # an older spool's User-Agent
                row[5] = is_bot(row[5])
            out.append(Hit(*row))
        return out


@dataclass
class Counting:
    """The collaborators counting needs. `campaign` finds a campaign (for its budgets and
    time zone) by id, or None when it was deleted."""

    counters: Counters
    settings: Settings
    secret: bytes
    campaign: Callable[[int], Campaign | None]
    stats: CreativeStats | None = None
    touches: TouchLog | None = None
    # The day label of each campaign's zone, as the decider's own cache reads it.
    local_times: LocalTimes = field(default_factory=LocalTimes)


@dataclass(frozen=True, slots=True)
class Counted:
    payload: TrackingPayload
    outcome: Outcome
    event: Event | None  # None when the hit is not an event at all (HEAD, prefetch)
    billed_micros: int = 0


def bill(counting: Counting, p: TrackingPayload, now: datetime) -> int:
    """Book spend; return what this event bills. The advertiser's bill never passes the
    total or daily budget: an event that lands after the budget ran out (its ad was served
    just before) is counted but billed only the part of its price that was left."""
    if p.price_micros <= 0:
        return 0
    campaign = counting.campaign(p.campaign_id)
    tz = campaign.timezone if campaign else "UTC"
    day = counting.local_times.get(tz, now.timestamp()).day
    spend = counting.counters.add_spend(p.campaign_id, day, p.price_micros)
    billed = p.price_micros
    if campaign is not None:
        before_total = spend.total_micros - p.price_micros
        billed = min(billed, max(0, campaign.budget_total_micros - before_total))
        if campaign.budget_daily_micros is not None:
            before_today = spend.today_micros - p.price_micros
            billed = min(billed, max(0, campaign.budget_daily_micros - before_today))
    return billed


def event_of(
    hit: Hit, p: TrackingPayload, ts: datetime, reason: DropReason | None, price: int
) -> Event:
    """The stored event of a counted hit (`reason` None for a valid one)."""
    return Event(
        id=hit.id,
        ts=ts,
        type=hit.kind,
        valid=reason is None,
        decision_id=p.decision_id,
        campaign_id=p.campaign_id,
        creative_id=p.creative_id,
        advertiser_id=p.advertiser_id,
        site_id=p.site_id,
        publisher_id=p.publisher_id,
        placement_id=p.placement_id,
        visitor=hit.visitor_id,
        country=p.country,
        device=p.device.value,
        format=p.format.value,
        size=p.size,
        genre=p.genre,
        genre_match=p.genre_match,
        objective=p.objective.value,
        price_micros=price,
        drop_reason=reason,
    )


def count_hit(
    hit: Hit,
    counting: Counting,
    payload: TrackingPayload | None = None,
    now: datetime | None = None,
) -> Counted:
    """Run the counting pipeline on one hit, bill it when valid, record the creative's
    impression or click, and build its event.

    `payload` is the already-verified token (the route has it); without it the token is
    unpacked, trusting the route's verification. `now` is the event's time (default: the
    hit's). Raises TokenRejected for a token that does not unpack or is of another kind
    (the route refuses those before they become hits)."""
    p = payload if payload is not None else unpack_verified(hit.token)
    outcome = evaluate(
        hit.kind, hit.context(p), counting.counters, counting.settings, touches=counting.touches
    )
    if not outcome.stored:
        return Counted(p, outcome, None)
    when = now if now is not None else datetime.fromtimestamp(hit.at, UTC)
    price = bill(counting, p, when) if outcome.valid else 0
    if outcome.valid and counting.stats is not None:
        if hit.kind is EventType.IMPRESSION:
            counting.stats.record_impression(p.creative_id)
        elif hit.kind is EventType.CLICK:
            counting.stats.record_click(p.creative_id)
    return Counted(p, outcome, event_of(hit, p, when, outcome.reason, price), price)
