"""The counting rules: one ordered list of named steps, run for every authentic event.

A tracking route verifies the link (refusals never get here), resolves the visitor, builds
an :class:`EventContext` and calls :func:`evaluate`, which walks :data:`PIPELINE`. Each
step applies to some event kinds and returns ``None`` (pass) or a :class:`DropReason`.
The first drop decides the :class:`Outcome`:

- ``ignored`` — HEAD requests and browser prefetch/prerender/preview are not events at
  all: nobody saw the ad yet. Nothing is stored and no counter moves.
- ``invalid`` — authentic but not billable (a bot, a duplicate…): stored with the reason.
- ``valid`` — counted and billable. Only then does :func:`evaluate` record the visitor's
  exposure (frequency caps), engagement (retargeting) and touch (attribution) — never
  for anonymous (DNT/GPC) visitors.

Order matters. Cheap, side-effect-free checks run first (prefetch, bot, domain); the
rate limiter counts everything that gets past them; the claims that consume a decision's
one impression/view/click come last, so an event dropped for another reason never uses
up the decision's legitimate event.

"Impression seen" (needed by views and clicks) is a read, not a claim: views and clicks
ask ``claimed`` whether the decision's impression claim is held, which it is exactly when
a valid impression won it (the claim is the impression's last step). Claiming the
impression key from the click instead would work as a test but would mutate state: a
click racing ahead of a slow impression beacon would both fail and poison the real
impression as a duplicate. With a read, the click is the only casualty of that race.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from backbeat.config import Settings
from backbeat.domain.audience import MAX_LOOKBACK_DAYS, Engagement
from backbeat.domain.events import DropReason, EventType
from backbeat.domain.inventory import domain_matches
from backbeat.store.counters.protocol import Counters
from backbeat.tracking.attribution import Touch, TouchKind, TouchLog
from backbeat.tracking.errors import WrongKind
from backbeat.tracking.headers import header, url_host
from backbeat.tracking.signing import TrackingPayload
from backbeat.tracking.useragent import is_bot
from backbeat.tracking.visitor import Visitor

RATE_WINDOW_S = 60
AUDIENCE_TTL_S = MAX_LOOKBACK_DAYS * 86_400
_CLAIM_SLACK_S = 60
_PREFETCH_WORDS = ("prefetch", "prerender", "preview")
PURPOSE_HEADERS = ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz")
_TRACKED = frozenset({EventType.IMPRESSION, EventType.VIEWABLE, EventType.CLICK})


def impression_claim(decision_id: str) -> str:
    """The claim a decision's valid impression holds; views and clicks read it."""
    return f"imp:{decision_id}"


def audience_key(engagement: Engagement, campaign_id: int) -> str:
    """The Counters audience key under which engagements with a campaign are recorded;
    read it with ``counters.engagement_count(audience_key(...), visitor, now, days*86400)``."""
    return f"{engagement.value}:{campaign_id}"


def audience_campaign(key: str) -> int:
    """The campaign an :func:`audience_key` names."""
    return int(key.rpartition(":")[2])


def purpose_of(headers: Mapping[str, str]) -> str:
    """The lower-cased values of a request's purpose headers (Sec-Purpose, Purpose, ...),
    joined: what :func:`speculative` reads."""
    return " ".join(
        v.lower() for name in PURPOSE_HEADERS if (v := header(headers, name)) is not None
    )


def speculative(method: str, purpose: str) -> bool:
    """A request nobody asked to see: HEAD, or a browser's prefetch, prerender or preview
    (`purpose` as :func:`purpose_of` gives it). Not an event, and not an ad request."""
    return method == "HEAD" or (bool(purpose) and any(w in purpose for w in _PREFETCH_WORDS))


@dataclass(frozen=True, slots=True)
class EventContext:
    """The parts of one tracking request the rules look at. No raw IP: the visitor is
    already resolved, and the country already sits in the signed payload."""

    payload: TrackingPayload
    visitor: Visitor
    now: float  # epoch seconds
    method: str = "GET"
    user_agent: str = ""
    bot: bool | None = None  # the UA's verdict when already taken (a hit); else classified
    purpose: str = ""  # lower-cased Sec-Purpose / Purpose / X-Purpose / X-Moz values
    page_host: str | None = None  # host of the page the ad was on, when known

    @classmethod
    def build(
        cls,
        *,
        method: str,
        headers: Mapping[str, str],
        payload: TrackingPayload,
        visitor: Visitor,
        now: float,
        page_url: str | None = None,
    ) -> EventContext:
        """From a request: `page_url` is the page the ad tag reported; without it the
        Referer header is used."""
        purpose = purpose_of(headers)
        host = url_host(page_url) if page_url else url_host(header(headers, "Referer"))
        return cls(
            payload=payload,
            visitor=visitor,
            now=now,
            method=method.upper(),
            user_agent=header(headers, "User-Agent") or "",
            purpose=purpose,
            page_host=host,
        )


class Verdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    reason: DropReason | None = None
    step: str | None = None  # the step that dropped the event

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def stored(self) -> bool:
        """Whether the event goes to the event store (valid or invalid, not ignored)."""
        return self.verdict is not Verdict.IGNORED


VALID = Outcome(Verdict.VALID)

StepCheck = Callable[[EventContext, Counters, Settings], DropReason | None]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    check: StepCheck
    kinds: frozenset[EventType] = _TRACKED
    ignore: bool = False  # a drop here means "not an event": not stored at all


def _claim_ttl(ctx: EventContext, settings: Settings) -> int:
    """Claims must outlive every link of the decision; after that verify() refuses replays."""
    left = math.ceil(ctx.payload.expires - ctx.now)
    return max(settings.link_ttl_seconds, left) + _CLAIM_SLACK_S


# steps ---------------------------------------------------------------------------------
def check_prefetch(ctx: EventContext, counters: Counters, settings: Settings) -> DropReason | None:
    """HEAD and speculative loads (prefetch, prerender, Safari preview) are not views."""
    return DropReason.PREFETCH if speculative(ctx.method, ctx.purpose) else None


def check_bot(ctx: EventContext, counters: Counters, settings: Settings) -> DropReason | None:
    """Known crawlers, non-browser clients, headless browsers and missing UAs."""
    bot = ctx.bot if ctx.bot is not None else is_bot(ctx.user_agent)
    return DropReason.BOT if bot else None


@lru_cache(maxsize=4)
def _own_host(base_url: str) -> str | None:
    return url_host(base_url)


def check_domain(ctx: EventContext, counters: Counters, settings: Settings) -> DropReason | None:
    """The page must be on the placement's site (or a subdomain). Unknown page, unknown
    site domain or our own host (the ad iframe's Referer) cannot be judged and pass."""
    site, host = ctx.payload.site_domain, ctx.page_host
    if not site or not host or host == _own_host(settings.base_url):
        return None
    return None if domain_matches(host, site) else DropReason.DOMAIN_MISMATCH


def check_rate(ctx: EventContext, counters: Counters, settings: Settings) -> DropReason | None:
    """At most `max_events_per_visitor_minute` events per visitor per minute."""
    count = counters.hit(f"rate:{ctx.visitor.key}", ctx.now, RATE_WINDOW_S)
    return DropReason.RATE if count > settings.max_events_per_visitor_minute else None


def check_impression_seen(
    ctx: EventContext, counters: Counters, settings: Settings
) -> DropReason | None:
    """A view or click needs a valid impression of the same decision first."""
    seen = counters.claimed(impression_claim(ctx.payload.decision_id))
    return None if seen else DropReason.NO_IMPRESSION


def claim_impression(
    ctx: EventContext, counters: Counters, settings: Settings
) -> DropReason | None:
    """One impression per decision; the claim it wins also marks the decision as seen."""
    ok = counters.claim(impression_claim(ctx.payload.decision_id), _claim_ttl(ctx, settings))
    return None if ok else DropReason.DUPLICATE


def claim_viewable(ctx: EventContext, counters: Counters, settings: Settings) -> DropReason | None:
    """One viewable event per decision."""
    ok = counters.claim(f"view:{ctx.payload.decision_id}", _claim_ttl(ctx, settings))
    return None if ok else DropReason.DUPLICATE


def claim_click(ctx: EventContext, counters: Counters, settings: Settings) -> DropReason | None:
    """One billable click per decision (link replays and reloads of the redirect)."""
    ok = counters.claim(f"click:{ctx.payload.decision_id}", _claim_ttl(ctx, settings))
    return None if ok else DropReason.DUPLICATE_CLICK


def claim_double_click(
    ctx: EventContext, counters: Counters, settings: Settings
) -> DropReason | None:
    """One click per visitor and campaign within `click_dedupe_seconds`, across decisions
    (a double click, or a reload that served the same campaign again)."""
    key = f"dblclick:{ctx.visitor.key}:{ctx.payload.campaign_id}"
    ok = counters.claim(key, settings.click_dedupe_seconds)
    return None if ok else DropReason.DUPLICATE_CLICK


_VIEW_OR_CLICK = frozenset({EventType.VIEWABLE, EventType.CLICK})

PIPELINE: tuple[Step, ...] = (
    Step("prefetch", check_prefetch, ignore=True),
    Step("bot", check_bot),
    Step("domain", check_domain),
    Step("rate", check_rate),
    Step("impression_seen", check_impression_seen, _VIEW_OR_CLICK),
    Step("duplicate_impression", claim_impression, frozenset({EventType.IMPRESSION})),
    Step("duplicate_viewable", claim_viewable, frozenset({EventType.VIEWABLE})),
    Step("duplicate_click", claim_click, frozenset({EventType.CLICK})),
    Step("double_click", claim_double_click, frozenset({EventType.CLICK})),
)


def _record_valid(
    kind: EventType, ctx: EventContext, counters: Counters, touches: TouchLog | None
) -> None:
    """Profile writes for a valid event of a visitor who allows them."""
    visitor, p = ctx.visitor, ctx.payload
    if visitor.anonymous or kind is EventType.VIEWABLE:
        return
    if kind is EventType.IMPRESSION:
        if p.freq_window_s > 0:
            counters.record_exposure(visitor.id, p.campaign_id, ctx.now, p.freq_window_s)
        engagement, touch_kind = Engagement.VIEWED, TouchKind.IMPRESSION
    else:
        engagement, touch_kind = Engagement.CLICKED, TouchKind.CLICK
    audience = audience_key(engagement, p.campaign_id)
    counters.add_member(audience, visitor.id, ctx.now, AUDIENCE_TTL_S)
    if touches is not None:
        touch = Touch(ctx.now, p.decision_id, p.campaign_id, p.creative_id)
        touches.record(p.advertiser_id, visitor.id, touch_kind, touch)


def evaluate(
    kind: EventType,
    ctx: EventContext,
    counters: Counters,
    settings: Settings,
    *,
    touches: TouchLog | None = None,
    steps: tuple[Step, ...] = PIPELINE,
) -> Outcome:
    """Decide whether one authentic event counts; on a valid one, record its profile writes.

    `kind` is what the route serves (impression, viewable or click); a link signed for
    another kind raises :class:`~backbeat.tracking.errors.WrongKind` (a refusal, 403).
    Spend is not added here: the caller adds ``payload.price_micros`` to the campaign's
    spend for a valid billable event, with the day in the campaign's time zone."""
    if ctx.payload.kind is not kind:
        raise WrongKind(kind.value, ctx.payload.kind.value)
    for step in steps:
        if kind in step.kinds:
            reason = step.check(ctx, counters, settings)
            if reason is not None:
                verdict = Verdict.IGNORED if step.ignore else Verdict.INVALID
                return Outcome(verdict, reason, step.name)
    _record_valid(kind, ctx, counters, touches)
    return VALID
