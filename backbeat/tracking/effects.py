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
batch (:class:`Effects`). A worker applies it to its own in-process counters with
:func:`apply_effects`.

The replicas lag the authority by the ingest loop's period plus the spool's seal interval
(tens to a few hundred milliseconds). Billing never uses them (the ingest process bills
with exact spend and caps each event at what is left of the budget), so the lag can make
a worker serve a few ads past a budget or a frequency cap, never bill past a budget.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backbeat.domain.events import Event, EventType
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.protocol import BulkReplay, Counters, Spend


@dataclass(slots=True)
class Effects:
    """One round's effects, as plain tuples (they cross a socket to every worker, once per
    round: tuples pickle about five times faster than dataclasses).

    `spend` is summed per (campaign, day): only the total matters to a budget."""

    spend: dict[tuple[int, str], int] = field(default_factory=dict)
    # (visitor, campaign, at, window_s)
    exposures: list[tuple[str, int, float, int]] = field(default_factory=list)
    # (audience key, visitor, at, ttl_s)
    members: list[tuple[str, str, float, int]] = field(default_factory=list)
    # (creative, valid impressions, valid clicks)
    creatives: list[tuple[int, int, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.spend or self.exposures or self.members or self.creatives)

    def __len__(self) -> int:
        return len(self.spend) + len(self.exposures) + len(self.members) + len(self.creatives)

    def split(self, max_entries: int) -> list[Effects]:
        """These effects as messages of at most about `max_entries` entries each, in order
        (spend and creative counts ride in the first). Applying them one after another is
        applying the whole: every entry is additive.

        A worker applies a message holding its GIL, and unpickles it holding it too; one
        message of a round that lagged (tens of thousands of entries) held a worker's event
        loop off for a quarter of a second, so the ingest loop publishes bounded ones."""
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if len(self) <= max_entries:
            return [self]
        out: list[Effects] = []
        first = Effects(spend=self.spend, creatives=self.creatives)
        room = max(0, max_entries - len(first))
        current = first
        for attr in ("exposures", "members"):
            items: list[Any] = getattr(self, attr)
            i = 0
            while i < len(items):
                if room == 0:
                    out.append(current)
                    current, room = Effects(), max_entries
                take = items[i : i + room]
                getattr(current, attr).extend(take)
                i += len(take)
                room -= len(take)
        out.append(current)
        return [e for e in out if e]


@dataclass
class RecordingCounters:
    """A :class:`Counters` that forwards every call and records the writes decisions read.

    With `keep_profiles` False, exposures and audience memberships are only recorded, not
    written to `inner`: the ingest process's own in-process counters are read for claims,
    rates and spend, never for a visitor's profile (decisions read those, in the workers),
    so keeping every visitor's series there for the audience lookback cost memory and a
    tenth of the counting for nothing. `record_exposure` then returns 0. With counters
    the workers share (Redis) the writes must reach `inner`: keep them.

    `audiences`, when given, returns the audience keys some audience reads now; only their
    memberships are recorded as effects. Workers keep no others (:mod:`backbeat.web.audiences`),
    and with no retargeting audience in the catalog that is half of all the entries they
    would unpickle and skip. It does not change what reaches `inner`.

    Not thread-safe for recording: one ingest loop owns it (its reads may come from any
    thread, as the inner counters allow)."""

    inner: Counters
    effects: Effects = field(default_factory=Effects)
    keep_profiles: bool = True
    audiences: Callable[[], Container[str]] | None = None

    def drain(self) -> Effects:
        out, self.effects = self.effects, Effects()
        return out

    def add_spend(self, campaign_id: int, day: str, micros: int) -> Spend:
        spend = self.inner.add_spend(campaign_id, day, micros)
        key = (campaign_id, day)
        self.effects.spend[key] = self.effects.spend.get(key, 0) + micros
        return spend

    def spend(self, campaign_id: int, day: str) -> Spend:
        return self.inner.spend(campaign_id, day)

    def spend_many(self, campaign_ids: Sequence[int], day: str) -> dict[int, Spend]:
        return self.inner.spend_many(campaign_ids, day)

    def record_exposure(self, visitor: str, campaign_id: int, now: float, window_s: int) -> int:
        n = 0
        if self.keep_profiles:
            n = self.inner.record_exposure(visitor, campaign_id, now, window_s)
        self.effects.exposures.append((visitor, campaign_id, now, window_s))
        return n

    def exposures(
        self, visitor: str, campaign_ids: Sequence[int], now: float, window_s: int
    ) -> dict[int, int]:
        return self.inner.exposures(visitor, campaign_ids, now, window_s)

    def claim(self, key: str, ttl_s: int) -> bool:
        return self.inner.claim(key, ttl_s)

    def claimed(self, key: str) -> bool:
        return self.inner.claimed(key)

    def hit(self, key: str, now: float, window_s: int) -> int:
        return self.inner.hit(key, now, window_s)

    def add_member(self, audience_key: str, visitor: str, now: float, ttl_s: int) -> None:
        if self.keep_profiles:
            self.inner.add_member(audience_key, visitor, now, ttl_s)
        if self.audiences is None or audience_key in self.audiences():
            self.effects.members.append((audience_key, visitor, now, ttl_s))

    def engagement_count(self, audience_key: str, visitor: str, now: float, window_s: int) -> int:
        return self.inner.engagement_count(audience_key, visitor, now, window_s)

    def close(self) -> None:
        self.inner.close()


def creative_counts(events: Iterable[Event]) -> list[tuple[int, int, int]]:
    """(creative, valid impressions, valid clicks) among stored events."""
    counts: dict[int, list[int]] = {}
    for e in events:
        if not e.valid or e.type not in (EventType.IMPRESSION, EventType.CLICK):
            continue
        c = counts.setdefault(e.creative_id, [0, 0])
        c[0 if e.type is EventType.IMPRESSION else 1] += 1
    return [(cid, i, k) for cid, (i, k) in sorted(counts.items())]


def replay_profiles(
    counters: Counters,
    exposures: Sequence[tuple[str, int, float, int]],
    members: Sequence[tuple[str, str, float, int]],
) -> None:
    """Write exposures ``(visitor, campaign, at, window_s)`` and audience memberships
    ``(audience key, visitor, at, ttl_s)`` that were recorded elsewhere (another process's
    effects, or stored events after a restart): in bulk when the counters can take it."""
    if isinstance(counters, BulkReplay):  # in-process counters: no per-write checks
        counters.replay(exposures, members)
        return
    for visitor, campaign_id, at, window_s in exposures:
        counters.record_exposure(visitor, campaign_id, at, window_s)
    for key, visitor, at, ttl_s in members:
        counters.add_member(key, visitor, at, ttl_s)


def apply_effects(
    effects: Effects,
    counters: Counters,
    stats: CreativeStats,
    *,
    counters_too: bool = True,
    audiences: Container[str] | None = None,
) -> int:
    """Replay effects onto a worker's counters (unless they are shared, e.g. Redis, and
    already hold them: `counters_too=False`) and CTR stats; returns how many applied.
    `audiences`, when given, are the only audience keys whose memberships are replayed."""
    n = 0
    if counters_too:
        for (campaign_id, day), micros in effects.spend.items():
            counters.add_spend(campaign_id, day, micros)
        members = effects.members
        if audiences is not None:
            members = [m for m in members if m[0] in audiences]
        replay_profiles(counters, effects.exposures, members)
        n += len(effects.spend) + len(effects.exposures) + len(members)
    for creative_id, impressions, clicks in effects.creatives:
        if impressions:
            stats.record_impression(creative_id, impressions)
        if clicks:
            stats.record_click(creative_id, clicks)
    return n + len(effects.creatives)
