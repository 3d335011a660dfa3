"""Conversion attribution: last click, else last view, within the configured windows.

For a conversion by a visitor for an advertiser at time T:

1. **click-through** — the latest valid click on any of that advertiser's ads at or
   before T and no more than ``click_attribution_days`` before it;
2. else **view-through** — the latest valid impression at or before T, no more than
   ``view_attribution_days`` before it (0 days turns view-through off);
3. else **unattributed**.

A click beats a more recent impression: the click is the stronger signal (the usual
last-click rule). Both window ends are inclusive: a touch exactly `window` seconds old
still counts. Touches after T are never credited, which matters when an advertiser
reports conversions late: the log keeps a few recent touches per kind, not only the
last, so a click that came after the reported conversion does not hide an earlier one.

Touches are kept by a :class:`TouchLog`. :class:`MemoryTouchLog` holds them in process,
bounded by age and by a maximum number of (advertiser, visitor) pairs. A Redis log would
be a list per (advertiser, visitor, kind) with ``LPUSH`` + ``LTRIM`` + ``EXPIRE``; the
Counters protocol has no "recent values" call (its sorted sets keep timestamps only,
not which campaign a touch was for), so it is a protocol of its own here.
Anonymous (DNT/GPC) visitors get no touches and their conversions stay unattributed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from backbeat.domain.events import Attribution
from backbeat.tracking.visitor import ANONYMOUS

DAY_S = 86_400
KEEP_PER_KIND = 8


class TouchKind(StrEnum):
    CLICK = "click"
    IMPRESSION = "impression"


@dataclass(frozen=True, slots=True)
class Touch:
    """One valid impression or click that a conversion may be credited to."""

    at: float  # epoch seconds
    decision_id: str
    campaign_id: int
    creative_id: int


@dataclass(frozen=True, slots=True)
class Touches:
    """A visitor's recent touches with one advertiser, each tuple newest first."""

    clicks: tuple[Touch, ...] = ()
    impressions: tuple[Touch, ...] = ()


@dataclass(frozen=True, slots=True)
class Credit:
    """The verdict for one conversion."""

    attribution: Attribution
    touch: Touch | None
    at: float  # the conversion's time, epoch seconds

    @property
    def lag_s(self) -> float | None:
        """Seconds from the credited touch to the conversion (None when unattributed)."""
        return None if self.touch is None else self.at - self.touch.at


def _latest_within(touches: Sequence[Touch], at: float, window_s: int) -> Touch | None:
    best: Touch | None = None
    for t in touches:
        if t.at <= at and at - t.at <= window_s and (best is None or t.at > best.at):
            best = t
    return best


def attribute(at: float, touches: Touches, *, click_days: int, view_days: int) -> Credit:
    """Credit a conversion at `at` (epoch seconds) to a click, an impression or nothing."""
    click = _latest_within(touches.clicks, at, click_days * DAY_S)
    if click is not None:
        return Credit(Attribution.CLICK_THROUGH, click, at)
    if view_days > 0:
        view = _latest_within(touches.impressions, at, view_days * DAY_S)
        if view is not None:
            return Credit(Attribution.VIEW_THROUGH, view, at)
    return Credit(Attribution.UNATTRIBUTED, None, at)


class TouchLog(Protocol):
    def record(self, advertiser_id: int, visitor: str, kind: TouchKind, touch: Touch) -> None:
        """Remember a valid impression or click for later conversions."""
        ...

    def recent(self, advertiser_id: int, visitor: str) -> Touches:
        """The visitor's recent touches with the advertiser (empty when unknown)."""
        ...


def attribute_conversion(
    log: TouchLog,
    advertiser_id: int,
    visitor: str,
    at: float,
    *,
    click_days: int,
    view_days: int,
) -> Credit:
    """Look up the visitor's touches and attribute the conversion; anonymous -> unattributed."""
    if visitor == ANONYMOUS or not visitor:
        return Credit(Attribution.UNATTRIBUTED, None, at)
    touches = log.recent(advertiser_id, visitor)
    return attribute(at, touches, click_days=click_days, view_days=view_days)


# A touch as the log keeps it: (at, decision_id, campaign_id, creative_id).
_Raw = tuple[float, str, int, int]
# Per (advertiser, visitor): (newest touch's time, clicks, impressions), each newest first.
_Pair = tuple[float, tuple[_Raw, ...], tuple[_Raw, ...]]
_EMPTY_PAIR: _Pair = (0.0, (), ())


def _push(items: tuple[_Raw, ...], raw: _Raw) -> tuple[_Raw, ...]:
    """`items` with `raw` added, newest first, at most KEEP_PER_KIND of them."""
    if not items or raw[0] >= items[0][0]:  # the usual case: touches arrive in order
        return (raw, *items[: KEEP_PER_KIND - 1])
    return tuple(sorted((raw, *items), key=lambda r: r[0], reverse=True)[:KEEP_PER_KIND])


class MemoryTouchLog:
    """An in-process TouchLog: the last few touches per kind, per (advertiser, visitor).

    Bounded two ways: at most `max_pairs` pairs are kept, the least recently recorded
    evicted first; and pairs whose newest touch is older than `retention_s` before the
    newest touch recorded anywhere (so no clock is read) are dropped from the cold end.
    Keep `retention_s` at least the longest attribution window.

    Each pair is kept as nested tuples of plain values, not objects: the garbage collector
    stops tracking such tuples, so a log of a million pairs adds nothing to the time of
    a full collection (an object per touch made every collection walk them all)."""

    def __init__(self, *, retention_s: int = 90 * DAY_S, max_pairs: int = 1_000_000) -> None:
        self._retention = retention_s
        self._max_pairs = max_pairs
        self._pairs: OrderedDict[tuple[int, str], _Pair] = OrderedDict()
        self._lock = threading.Lock()
        self._high_water = 0.0

    def record(self, advertiser_id: int, visitor: str, kind: TouchKind, touch: Touch) -> None:
        if visitor == ANONYMOUS or not visitor:
            return
        key = (advertiser_id, visitor)
        raw = (touch.at, touch.decision_id, touch.campaign_id, touch.creative_id)
        with self._lock:
            self._high_water = max(self._high_water, touch.at)
            # popped and re-inserted: the pair moves to the recent end
            newest, clicks, impressions = self._pairs.pop(key, _EMPTY_PAIR)
            newest = max(newest, touch.at)
            if kind is TouchKind.CLICK:
                clicks = _push(clicks, raw)
            else:
                impressions = _push(impressions, raw)
            self._pairs[key] = (newest, clicks, impressions)
            self._evict()

    def _evict(self) -> None:
        while len(self._pairs) > self._max_pairs:
            self._pairs.popitem(last=False)
        # The least recently touched pairs sit at the front; drop those past retention.
        cutoff = self._high_water - self._retention
        while self._pairs:
            key, pair = next(iter(self._pairs.items()))
            if pair[0] >= cutoff:
                break
            del self._pairs[key]

    def recent(self, advertiser_id: int, visitor: str) -> Touches:
        with self._lock:
            pair = self._pairs.get((advertiser_id, visitor))
        if pair is None:
            return Touches()
        return Touches(tuple(Touch(*r) for r in pair[1]), tuple(Touch(*r) for r in pair[2]))

    def __len__(self) -> int:
        return len(self._pairs)
