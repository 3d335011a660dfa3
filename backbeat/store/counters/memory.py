"""In-process Counters: the default for a single server process.

State is split over striped locks (a stripe per key hash) so that a sweep of expired
entries holds only one stripe at a time. Each stripe sweeps itself when touched after
its sweep interval has passed, so memory stays bounded by what is live without a
background thread.

Two clocks are in play, as with Redis: window arithmetic uses the caller's `now` (epoch
seconds, like sorted-set scores), while expiry (claim TTLs, bucket and series lifetimes)
uses an injected monotonic clock, like Redis key TTLs. Tests inject a fake clock.

Everything is lost when the process ends; run Redis when several processes serve or when
counters must survive a restart.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from backbeat.heap import pinned_dict, repin
from backbeat.store.counters.limits import (
    DAY_BUCKET_TTL_S,
    MAX_SERIES,
    check_day,
    check_key,
    check_micros,
    check_positive,
)
from backbeat.store.counters.protocol import Spend

# A series (exposures of a visitor to a campaign, a visitor's engagements with an audience)
# is one flat tuple (deadline, *stamps): the monotonic deadline of the whole series, then
# its timestamps (caller time, ascending). Tuples of floats, in dicts keyed by tuples of str and
# int, are untracked by the cyclic garbage collector, so a million live series add nothing
# to a full collection's walk; an object and a deque per series made every full pass of a
# busy server tens of milliseconds longer, and those pauses were its latency tail.
Series = tuple[float, ...]

# Each stripe's dicts of tuples are pinned (backbeat.heap): a fresh series put in a dict
# the collector had untracked tracked it again among the young objects, and every young
# collection walked all its entries (45 ms a time in a worker holding 800,000 series).
# They are swept in place, never replaced.


def _added(stamps: tuple[float, ...], ts: float, cutoff: float) -> tuple[float, ...]:
    """`stamps` with `ts` inserted in order, the oldest dropped beyond MAX_SERIES, and every
    stamp at or before `cutoff` pruned."""
    if len(stamps) >= MAX_SERIES:
        stamps = stamps[1:]
    if not stamps or ts >= stamps[-1]:
        stamps = (*stamps, ts)
    else:  # out of order (threads racing on one visitor): keep it sorted
        i = bisect.bisect_right(stamps, ts)
        stamps = (*stamps[:i], ts, *stamps[i:])
    j = bisect.bisect_right(stamps, cutoff)
    return stamps[j:] if j else stamps


def _after(stamps: tuple[float, ...], cutoff: float) -> int:
    return len(stamps) - bisect.bisect_right(stamps, cutoff)


class _Stripe:
    """One lock and the slice of state whose keys hash to it."""

    __slots__ = ("claims", "days", "lock", "next_sweep", "rates", "series", "totals")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.totals: dict[int, int] = {}
        self.days: dict[Hashable, Any] = pinned_dict()
        self.claims: dict[str, float] = {}
        self.rates: dict[Hashable, Any] = pinned_dict()
        self.series: dict[Hashable, Any] = pinned_dict()
        self.next_sweep = 0.0

    def sweep(self, mono: float) -> None:
        """Drop every expired entry, in place (see above). Campaign totals never expire
        (one int per campaign)."""
        for entries, deadline in ((self.days, 1), (self.rates, 1), (self.series, 0)):
            for key in [k for k, v in entries.items() if v[deadline] <= mono]:
                del entries[key]
        for key in [k for k, v in self.claims.items() if v <= mono]:
            del self.claims[key]

    def clear(self) -> None:
        self.totals.clear()
        self.claims.clear()
        for entries in (self.days, self.rates, self.series):
            entries.clear()
            repin(entries)

    def size(self) -> int:
        return (
            len(self.totals) + len(self.days) + len(self.claims) + len(self.rates)
            + len(self.series) - 3  # the pins
        )


class MemoryCounters:
    """Thread-safe in-process implementation of :class:`~.protocol.Counters`."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        stripes: int = 16,
        sweep_interval_s: float = 30.0,
    ) -> None:
        if stripes < 1 or stripes & (stripes - 1):
            raise ValueError("stripes must be a power of two")
        self._clock = clock
        self._mask = stripes - 1
        self._stripes = tuple(_Stripe() for _ in range(stripes))
        self._sweep_interval = sweep_interval_s
        # Staggered: stripe i first falls due at (i + 1) / stripes of the interval, and then
        # every interval after its last sweep, so the stripes of a busy process sweep one
        # at a time. All falling due together, the writes of one effects message swept
        # every stripe in a row (16 sweeps of 4-18 ms in a worker holding 800,000 series).
        start = clock()
        for i, stripe in enumerate(self._stripes):
            stripe.next_sweep = start + sweep_interval_s * (i + 1) / stripes

    # internals -------------------------------------------------------------
    def _stripe(self, key: Hashable) -> tuple[_Stripe, float]:
        """The stripe owning `key` and the current monotonic time.

        The caller takes `stripe.lock` before touching its state (writers then call
        :meth:`_maybe_sweep` under that lock)."""
        return self._stripes[hash(key) & self._mask], self._clock()

    def _maybe_sweep(self, stripe: _Stripe, mono: float) -> None:
        if mono >= stripe.next_sweep:
            stripe.sweep(mono)
            stripe.next_sweep = mono + self._sweep_interval

    def _day_micros(self, stripe: _Stripe, key: tuple[int, str], mono: float) -> int:
        entry = stripe.days.get(key)
        return entry[0] if entry is not None and entry[1] > mono else 0

    # spend -----------------------------------------------------------------
    def add_spend(self, campaign_id: int, day: str, micros: int) -> Spend:
        check_day(day)
        check_micros(micros)
        stripe, mono = self._stripe(campaign_id)
        with stripe.lock:
            self._maybe_sweep(stripe, mono)
            total = stripe.totals.get(campaign_id, 0) + micros
            stripe.totals[campaign_id] = total
            key = (campaign_id, day)
            today = self._day_micros(stripe, key, mono) + micros
            stripe.days[key] = (today, mono + DAY_BUCKET_TTL_S)
        return Spend(total, today)

    def spend(self, campaign_id: int, day: str) -> Spend:
        check_day(day)
        stripe, mono = self._stripe(campaign_id)
        with stripe.lock:
            total = stripe.totals.get(campaign_id, 0)
            today = self._day_micros(stripe, (campaign_id, day), mono)
        return Spend(total, today)

    def spend_many(self, campaign_ids: Sequence[int], day: str) -> dict[int, Spend]:
        return {cid: self.spend(cid, day) for cid in campaign_ids}

    # frequency -------------------------------------------------------------
    def record_exposure(self, visitor: str, campaign_id: int, now: float, window_s: int) -> int:
        check_key("visitor", visitor)
        check_positive("window_s", window_s)
        key = ("exp", visitor, campaign_id)
        stripe, mono = self._stripe(key)
        with stripe.lock:
            self._maybe_sweep(stripe, mono)
            return self._add(stripe, key, now, window_s, mono)

    def exposures(
        self, visitor: str, campaign_ids: Sequence[int], now: float, window_s: int
    ) -> dict[int, int]:
        check_key("visitor", visitor)
        check_positive("window_s", window_s)
        return {
            cid: self._count(("exp", visitor, cid), now - window_s) for cid in campaign_ids
        }

    def _count(self, key: Hashable, cutoff: float) -> int:
        stripe, mono = self._stripe(key)
        with stripe.lock:
            series = stripe.series.get(key)
            if series is None or series[0] <= mono:
                return 0
            return _after(series[1:], cutoff)

    @staticmethod
    def _add(stripe: _Stripe, key: Hashable, now: float, keep_s: int, mono: float) -> int:
        """Add `now` to a series kept for `keep_s`; returns its length. Under the lock."""
        series = stripe.series.get(key)
        stamps = series[1:] if series is not None and series[0] > mono else ()
        stamps = _added(stamps, now, now - keep_s)
        stripe.series[key] = (mono + keep_s, *stamps)
        return len(stamps)

    # nonces and rates ------------------------------------------------------
    def claim(self, key: str, ttl_s: int) -> bool:
        check_key("key", key)
        check_positive("ttl_s", ttl_s)
        stripe, mono = self._stripe(key)
        with stripe.lock:
            self._maybe_sweep(stripe, mono)
            deadline = stripe.claims.get(key)
            if deadline is not None and deadline > mono:
                return False
            stripe.claims[key] = mono + ttl_s
            return True

    def claimed(self, key: str) -> bool:
        check_key("key", key)
        stripe, mono = self._stripe(key)
        with stripe.lock:
            deadline = stripe.claims.get(key)
        return deadline is not None and deadline > mono

    def hit(self, key: str, now: float, window_s: int) -> int:
        check_key("key", key)
        check_positive("window_s", window_s)
        bucket = (key, window_s, math.floor(now / window_s))
        stripe, mono = self._stripe(bucket)
        with stripe.lock:
            self._maybe_sweep(stripe, mono)
            entry = stripe.rates.get(bucket)
            count = entry[0] + 1 if entry is not None and entry[1] > mono else 1
            stripe.rates[bucket] = (count, mono + window_s)
            return count

    # replay ----------------------------------------------------------------
    def replay(
        self,
        exposures: Sequence[tuple[str, int, float, int]],
        members: Sequence[tuple[str, str, float, int]],
    ) -> None:
        """See :class:`~backbeat.store.counters.protocol.BulkReplay`: the same series as
        ``record_exposure`` and ``add_member`` one by one, without validating each write
        again or reading the clock per write (a worker replays every impression)."""
        mono = self._clock()
        stripes, mask, add = self._stripes, self._mask, self._add
        for visitor, campaign_id, at, window_s in exposures:
            key: tuple[str, str, int] | tuple[str, str, str] = ("exp", visitor, campaign_id)
            stripe = stripes[hash(key) & mask]
            with stripe.lock:
                add(stripe, key, at, window_s, mono)
        for audience_key, visitor, at, ttl_s in members:
            key = ("aud", audience_key, visitor)
            stripe = stripes[hash(key) & mask]
            with stripe.lock:
                add(stripe, key, at, ttl_s, mono)
        # What one-by-one writes would have swept meanwhile, but one stripe per call:
        # sweeping every due stripe of a worker's series at once held its GIL (and its
        # event loop) for tens of milliseconds. Replays come many times a second, so each
        # due stripe is swept within a few calls.
        due = min(stripes, key=lambda st: st.next_sweep)
        with due.lock:
            self._maybe_sweep(due, mono)

    # retargeting -----------------------------------------------------------
    def add_member(self, audience_key: str, visitor: str, now: float, ttl_s: int) -> None:
        check_key("audience_key", audience_key)
        check_key("visitor", visitor)
        check_positive("ttl_s", ttl_s)
        key = ("aud", audience_key, visitor)
        stripe, mono = self._stripe(key)
        with stripe.lock:
            self._maybe_sweep(stripe, mono)
            self._add(stripe, key, now, ttl_s, mono)

    def engagement_count(self, audience_key: str, visitor: str, now: float, window_s: int) -> int:
        check_key("audience_key", audience_key)
        check_key("visitor", visitor)
        check_positive("window_s", window_s)
        return self._count(("aud", audience_key, visitor), now - window_s)

    # lifecycle -------------------------------------------------------------
    def entries(self) -> int:
        """How many keys are held (live or awaiting a sweep); for tests and metrics."""
        n = 0
        for s in self._stripes:
            with s.lock:
                n += s.size()
        return n

    def sweep(self) -> None:
        """Sweep every stripe now (normally each stripe sweeps itself when due)."""
        mono = self._clock()
        for s in self._stripes:
            with s.lock:
                s.sweep(mono)
                s.next_sweep = mono + self._sweep_interval

    def sibling(self) -> MemoryCounters:
        """Empty counters with this one's clock and stripes, to warm apart and then
        :meth:`adopt_replicated`."""
        return MemoryCounters(
            clock=self._clock, stripes=len(self._stripes), sweep_interval_s=self._sweep_interval
        )

    def adopt_replicated(self, fresh: MemoryCounters) -> None:
        """Take `fresh`'s spend, exposures and engagements in place of this one's: what a
        serving worker replicates from the ingest process's effects, warmed again from the
        store into a :meth:`sibling` while this one went on answering. Claims and rate
        windows (a worker's own, such as login attempts) are kept.

        Swapped stripe by stripe under each stripe's lock, so a reader sees either the old
        or the new values of a key, never an empty budget or cap in between (clearing and
        then warming in place let decisions see every budget unspent for as long as the
        warm-up took). The dicts themselves stay (they are pinned and frozen,
        :mod:`backbeat.heap`); `fresh` is left empty."""
        if len(fresh._stripes) != len(self._stripes):
            raise ValueError("adopt_replicated needs counters with the same stripes")
        for mine, theirs in zip(self._stripes, fresh._stripes, strict=True):
            with theirs.lock:  # taken whole, not copied: `fresh` gets empty ones
                totals, days, series = theirs.totals, theirs.days, theirs.series
                theirs.totals, theirs.days, theirs.series = {}, pinned_dict(), pinned_dict()
            with mine.lock:
                mine.totals.clear()
                mine.totals.update(totals)
                for entries, new in ((mine.days, days), (mine.series, series)):
                    entries.clear()
                    entries.update(new)
                    repin(entries)

    def close(self) -> None:
        for s in self._stripes:
            with s.lock:
                s.clear()
