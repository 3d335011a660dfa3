"""Rebuild visitor profiles after a restart: frequency caps, retargeting audiences and the
touches that conversions are credited to.

In-process counters and the touch log live in memory, so a restart would otherwise lift
every frequency cap, empty every retargeting audience and leave conversions nothing to be
credited to until visitors came back. The stored events hold what was recorded: every
valid impression or click of a visitor who allowed a profile (DNT and GPC events are
stored under the anonymous id and recorded nothing, so they rebuild nothing either).
:func:`warm_profiles` replays those still inside their windows, in time order, as the
counting pipeline recorded them:

- an exposure per impression within its campaign's frequency-cap window (the window the
  campaign has now; 24 hours without a cap, as the links are signed);
- an engagement per impression (viewed) and per click (clicked), kept for the audience
  lookback (:data:`~backbeat.tracking.pipeline.AUDIENCE_TTL_S`);
- a touch per impression within the view-through window and per click within the
  click-through window.

With shared counters (Redis) the exposures and engagements outlive the process and are not
replayed; the touch log is in memory in every configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from backbeat.domain.audience import Engagement
from backbeat.domain.campaign import Campaign
from backbeat.store.counters.protocol import Counters
from backbeat.store.events.protocol import EventStore
from backbeat.tracking.attribution import Touch, TouchKind, TouchLog
from backbeat.tracking.effects import replay_profiles
from backbeat.tracking.pipeline import AUDIENCE_TTL_S, audience_campaign, audience_key
from backbeat.tracking.visitor import ANONYMOUS

log = logging.getLogger(__name__)

NO_CAP_WINDOW_S = 86_400  # the exposure window links carry when a campaign has no cap


@dataclass(frozen=True)
class Warmed:
    exposures: int
    engagements: int
    touches: int


def _window(campaign: Campaign) -> int:
    cap = campaign.frequency_cap
    return cap.hours * 3600 if cap else NO_CAP_WINDOW_S


def _epoch(ts: object) -> float:
    if not isinstance(ts, datetime):
        raise TypeError(f"expected a timestamp from the event store, got {ts!r}")
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp()


def warm_profiles(
    store: EventStore,
    campaigns: Iterable[Campaign],
    now: datetime,
    *,
    counters: Counters | None,
    touches: TouchLog | None,
    click_days: int,
    view_days: int,
    lookback_s: int = AUDIENCE_TTL_S,
    audiences: Container[str] | None = None,
) -> Warmed:
    """Replay the stored events still inside their windows into `counters` (exposures and
    engagements; None to skip) and `touches` (None to skip). `now` is the restart's time.
    `audiences`, when given, are the only audience keys whose engagements are kept (a
    serving worker's, :mod:`backbeat.web.audiences`)."""
    if counters is None and touches is None:
        return Warmed(0, 0, 0)
    windows = {c.id: _window(c) for c in campaigns if c.id is not None}
    moment = now.timestamp()
    span = lookback_s if counters is not None else max(click_days, view_days) * 86_400
    since = datetime.fromtimestamp(moment - span, UTC).replace(tzinfo=None)
    rows = store.query(
        "SELECT ts, type, visitor, campaign_id, advertiser_id, decision_id, creative_id"
        " FROM events WHERE valid AND type IN ('impression', 'click') AND ts >= ?"
        " AND visitor <> ? ORDER BY ts",
        [since, ANONYMOUS],
    )
    exposures: list[tuple[str, int, float, int]] = []
    members: list[tuple[str, str, float, int]] = []
    n_touches = 0
    for ts, kind, visitor, campaign_id, advertiser_id, decision_id, creative_id in rows:
        at, who, cid = _epoch(ts), str(visitor), int(campaign_id)  # type: ignore[call-overload]
        age = moment - at
        impression = kind == "impression"
        if counters is not None:
            window = windows.get(cid, NO_CAP_WINDOW_S)
            if impression and age < window:
                exposures.append((who, cid, at, window))
            engagement = Engagement.VIEWED if impression else Engagement.CLICKED
            key = audience_key(engagement, cid)
            if audiences is None or key in audiences:
                members.append((key, who, at, AUDIENCE_TTL_S))
        if touches is not None and age <= (view_days if impression else click_days) * 86_400:
            touch = Touch(at, str(decision_id), cid, int(creative_id))  # type: ignore[call-overload]
            kind_ = TouchKind.IMPRESSION if impression else TouchKind.CLICK
            touches.record(int(advertiser_id), who, kind_, touch)  # type: ignore[call-overload]
            n_touches += 1
    if counters is not None:
        replay_profiles(counters, exposures, members)
    return Warmed(len(exposures), len(members), n_touches)



def warm_audiences(
    store: EventStore,
    keys: Iterable[str],
    now: datetime,
    counters: Counters,
    *,
    lookback_s: int = AUDIENCE_TTL_S,
) -> int:
    """Load the engagements of the given audience keys (``viewed:<campaign>`` and
    ``clicked:<campaign>``) from the stored events of the lookback into `counters`; for a
    worker whose catalog just gained an audience. Returns how many were loaded."""
    wanted = frozenset(keys)
    campaign_ids = sorted({audience_campaign(key) for key in wanted})
    if not campaign_ids:
        return 0
    since = datetime.fromtimestamp(now.timestamp() - lookback_s, UTC).replace(tzinfo=None)
    rows = store.query(
        "SELECT ts, type, visitor, campaign_id FROM events WHERE valid"
        " AND type IN ('impression', 'click') AND ts >= ? AND visitor <> ?"
        f" AND campaign_id IN ({', '.join('?' * len(campaign_ids))}) ORDER BY ts",
        [since, ANONYMOUS, *campaign_ids],
    )
    members: list[tuple[str, str, float, int]] = []
    for ts, kind, visitor, campaign_id in rows:
        engagement = Engagement.VIEWED if kind == "impression" else Engagement.CLICKED
        key = audience_key(engagement, int(campaign_id))  # type: ignore[call-overload]
        if key in wanted:
            members.append((key, str(visitor), _epoch(ts), AUDIENCE_TTL_S))
    replay_profiles(counters, [], members)
    return len(members)
