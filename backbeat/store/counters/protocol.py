"""The Counters protocol: every read and write the hot path makes outside the event store.

Designed for Redis: each method maps to one round trip (INCRBY, a Lua script or SET NX),
so a Redis backend is atomic across serving processes. Times are UTC epoch seconds passed
in by the caller (the clock is injected upstream, never read here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Spend:
    total_micros: int
    today_micros: int  # "today" in the campaign's time zone, keyed by the caller's day string


class Counters(Protocol):
    def add_spend(self, campaign_id: int, day: str, micros: int) -> Spend:
        """Add billed spend to the campaign's total and to its `day` bucket; return both."""
        ...

    def spend(self, campaign_id: int, day: str) -> Spend: ...

    def spend_many(self, campaign_ids: Sequence[int], day: str) -> dict[int, Spend]:
        """One round trip for the whole candidate set."""
        ...

    def record_exposure(self, visitor: str, campaign_id: int, now: float, window_s: int) -> int:
        """Log an impression of the campaign for the visitor; return the count inside the window."""
        ...

    def exposures(
        self, visitor: str, campaign_ids: Sequence[int], now: float, window_s: int
    ) -> dict[int, int]:
        """Impressions per campaign for the visitor within the window (for frequency caps)."""
        ...

    def claim(self, key: str, ttl_s: int) -> bool:
        """Atomically mark `key` as seen. True for the first caller only, until it expires.

        Used for one-impression-per-decision, one-click-per-decision and link replay;
        it has no check-then-set race."""
        ...

    def claimed(self, key: str) -> bool:
        """Whether `key` is claimed and its claim has not expired. A read: it claims nothing
        (a click asks whether its decision's impression was counted)."""
        ...

    def hit(self, key: str, now: float, window_s: int) -> int:
        """Increment a fixed-window rate counter and return its value in the current window."""
        ...

    def add_member(self, audience_key: str, visitor: str, now: float, ttl_s: int) -> None:
        """Record engagement for retargeting (visitor engaged with a campaign at `now`)."""
        ...

    def engagement_count(self, audience_key: str, visitor: str, now: float, window_s: int) -> int:
        """How many recorded engagements fall within the window."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BulkReplay(Protocol):
    """Counters that can take another process's exposures and audience memberships in bulk
    (a serving worker replaying the ingest process's effects). The writes were validated
    where they were made; the tuples are ``(visitor, campaign_id, at, window_s)`` and
    ``(audience_key, visitor, at, ttl_s)``, as ``record_exposure`` and ``add_member``
    take them."""

    def replay(
        self,
        exposures: Sequence[tuple[str, int, float, int]],
        members: Sequence[tuple[str, str, float, int]],
    ) -> None: ...
