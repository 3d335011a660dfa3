"""Effects: what counting changed that ad decisions read, shipped to serving workers.

With several serving workers, one ingest process counts every hit. Its counters are the
authority for everything that decides validity and billing (claims, rate windows, spend).
Each worker decides ads from a replica of the parts decisions read:

- spend per campaign and day (budgets and pacing);
- a visitor's exposures per campaign (frequency caps, awareness reach);
- audience memberships (retargeting);
- creative impressions and clicks (the CTR that ranking and rotation use).

:class:`RecordingCounters` wraps the ingest process's counters and notes each such write;
the ingest loop adds the creative counts of the valid events it stored, and publishes the
batch. A worker applies it to its own in-process counters with :func:`apply_effects`.

The replicas lag the authority by the ingest loop's period plus the spool's seal interval
(tens to a few hundred milliseconds). Billing never uses them (the ingest process bills
with exact spend and caps each event at what is left of the budget), so the lag can make
a worker serve a few ads past a budget or a frequency cap, never bill past a budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from backbeat.domain.events import Event, EventType
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.protocol import Counters, Spend
from backbeat.tracking.pipeline import SEEN_IMPRESSION


@dataclass(frozen=True, slots=True)
class SpendAdded:
    campaign_id: int
    day: str
    micros: int


@dataclass(frozen=True, slots=True)
class Exposure:
    visitor: str
    campaign_id: int
    at: float
    window_s: int


@dataclass(frozen=True, slots=True)
class Membership:
    audience_key: str
    visitor: str
    at: float
    ttl_s: int


@dataclass(frozen=True, slots=True)
class CreativeCounts:
    creative_id: int
    impressions: int
    clicks: int


Effect = SpendAdded | Exposure | Membership | CreativeCounts


@dataclass
class RecordingCounters:
    """A :class:`Counters` that forwards every call and records the writes decisions read.

    Not thread-safe for recording: one ingest loop owns it (its reads may come from any
    thread, as the inner counters allow)."""

    inner: Counters
    effects: list[Effect] = field(default_factory=list)

    def drain(self) -> list[Effect]:
        out, self.effects = self.effects, []
        return out

    def add_spend(self, campaign_id: int, day: str, micros: int) -> Spend:
        spend = self.inner.add_spend(campaign_id, day, micros)
        self.effects.append(SpendAdded(campaign_id, day, micros))
        return spend

    def spend(self, campaign_id: int, day: str) -> Spend:
        return self.inner.spend(campaign_id, day)

    def spend_many(self, campaign_ids: Sequence[int], day: str) -> dict[int, Spend]:
        return self.inner.spend_many(campaign_ids, day)

    def record_exposure(self, visitor: str, campaign_id: int, now: float, window_s: int) -> int:
        n = self.inner.record_exposure(visitor, campaign_id, now, window_s)
        self.effects.append(Exposure(visitor, campaign_id, now, window_s))
        return n

    def exposures(
        self, visitor: str, campaign_ids: Sequence[int], now: float, window_s: int
    ) -> dict[int, int]:
        return self.inner.exposures(visitor, campaign_ids, now, window_s)

    def claim(self, key: str, ttl_s: int) -> bool:
        return self.inner.claim(key, ttl_s)

    def hit(self, key: str, now: float, window_s: int) -> int:
        return self.inner.hit(key, now, window_s)

    def add_member(self, audience_key: str, visitor: str, now: float, ttl_s: int) -> None:
        self.inner.add_member(audience_key, visitor, now, ttl_s)
        if audience_key != SEEN_IMPRESSION:  # read by counting only, never by decisions
            self.effects.append(Membership(audience_key, visitor, now, ttl_s))

    def engagement_count(self, audience_key: str, visitor: str, now: float, window_s: int) -> int:
        return self.inner.engagement_count(audience_key, visitor, now, window_s)

    def close(self) -> None:
        self.inner.close()


def creative_counts(events: Iterable[Event]) -> list[CreativeCounts]:
    """Valid impressions and clicks per creative among stored events."""
    counts: dict[int, list[int]] = {}
    for e in events:
        if not e.valid or e.type not in (EventType.IMPRESSION, EventType.CLICK):
            continue
        c = counts.setdefault(e.creative_id, [0, 0])
        c[0 if e.type is EventType.IMPRESSION else 1] += 1
    return [CreativeCounts(cid, i, k) for cid, (i, k) in sorted(counts.items())]


def apply_effects(effects: Iterable[Effect], counters: Counters, stats: CreativeStats) -> int:
    """Replay effects onto a worker's counters and CTR stats; returns how many applied."""
    n = 0
    for fx in effects:
        if isinstance(fx, SpendAdded):
            counters.add_spend(fx.campaign_id, fx.day, fx.micros)
        elif isinstance(fx, Exposure):
            counters.record_exposure(fx.visitor, fx.campaign_id, fx.at, fx.window_s)
        elif isinstance(fx, Membership):
            counters.add_member(fx.audience_key, fx.visitor, fx.at, fx.ttl_s)
        elif isinstance(fx, CreativeCounts):
            if fx.impressions:
                stats.record_impression(fx.creative_id, fx.impressions)
            if fx.clicks:
                stats.record_click(fx.creative_id, fx.clicks)
        else:  # pragma: no cover - the union is closed; a new kind must be handled here
            raise TypeError(f"unknown effect {fx!r}")
        n += 1
    return n
