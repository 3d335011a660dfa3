"""The decider: pick the ad for a slot, or explain why there is none.

A decision walks the slate of the placement's shape and the visitor's country for the
current time block (see :mod:`backbeat.serving.slate`) best-first by score bound. Within a
group of equal bounds it draws candidates in a uniformly random order (lazily, a few at a
time), so equal bids share traffic and the first passing draw is uniform over those that
pass. Each drawn candidate goes through the remaining filters: floor, genre, device and site
(:func:`~backbeat.serving.targeting.placement_ok`), flight re-check at block edges, audience
and page de-dup, then budgets, frequency cap and pacing, whose counters are fetched for one
candidate first and then a few at a time. The walk stops as soon as a candidate reaches its
group's bound, since nothing later can beat it. Without a winner the decider explains the
no-fill by running every filter in order (:func:`backbeat.serving.targeting.explain`).

Pure apart from the injected counters, RNG, clock and creative stats. Slates are built by
the first request that needs them unless they were prepared ahead, by :meth:`Decider.prebuild`
or by the background builder that :meth:`Decider.start_prebuild` starts (off by default; see
:mod:`backbeat.serving.prebuild`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from backbeat.domain.campaign import Pricing
from backbeat.domain.inventory import domain_matches
from backbeat.errors import ValidationFailed
from backbeat.serving.context import RequestContext
from backbeat.serving.index import CandidateIndex, IndexHolder, PlacementEntry
from backbeat.serving.localtime import BLOCK_S, LocalTimes
from backbeat.serving.prebuild import SlateBuilder
from backbeat.serving.ranking import REACH_BOOST, creative_ctr, ecpm_micros, pick_creative
from backbeat.serving.request import (
    DOMAIN_MISMATCH,
    UNKNOWN_PLACEMENT,
    AdRequest,
    Decision,
    NoFill,
)
from backbeat.serving.slate import Ranked, Slate
from backbeat.serving.slatecache import SlateCache
from backbeat.serving.stats import CreativeStats
from backbeat.serving.targeting import (
    audience,
    budget_daily,
    budget_total,
    explain,
    flight,
    frequency_cap,
    pacing,
    placement_ok,
)
from backbeat.store.counters.protocol import Counters


def _uuid() -> str:
    return str(uuid.uuid4())


class Decider:
    """Decides ads. Thread-safe as far as its collaborators are (the caches it keeps are
    plain dicts whose worst race recomputes a value); give each thread its own RNG if the
    RNG's sequence matters. Start and stop the background builder from one thread.

    `block_s` is how long a slate (and the CTR it ranks with) is reused; it must divide 900.
    `prefetch` is how many candidates' counters are read per round trip.
    """

    def __init__(
        self,
        index: IndexHolder | CandidateIndex,
        counters: Counters,
        rng: random.Random,
        clock: Callable[[], datetime],
        stats: CreativeStats,
        *,
        id_fn: Callable[[], str] = _uuid,
        require_domain_match: bool = True,
        block_s: int = 60,
        prefetch: int = 4,
    ) -> None:
        if block_s < 1 or BLOCK_S % block_s:
            raise ValueError("block_s must divide 900 (so blocks align with quarter hours)")
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._holder = index if isinstance(index, IndexHolder) else None
        self._fixed = index if isinstance(index, CandidateIndex) else None
        self._counters = counters
        self._rng = rng
        self._clock = clock
        self._stats = stats
        self._id_fn = id_fn
        self._require_domain = require_domain_match
        self._block_s = block_s
        self._prefetch = prefetch
        self._local_times = LocalTimes()
        self._slates = SlateCache(block_s=block_s, local_times=self._local_times, stats=stats)
        self._builder: SlateBuilder | None = None

    @property
    def index(self) -> CandidateIndex:
        holder = self._holder
        if holder is not None:
            return holder.current()
        assert self._fixed is not None
        return self._fixed

    @property
    def slates(self) -> SlateCache:
        """The slates this decider ranks with (and its build counters)."""
        return self._slates

    def prebuild(self, block: int | None = None) -> int:
        """Build the slates of `block` (default: the one after the clock's) on the current
        index now, so that its first requests find them ready; returns how many were built.
        What the background builder does, for callers that drive time themselves."""
        if block is None:
            block = int(self._clock().timestamp() // self._block_s) + 1
        return self._slates.prebuild(self.index, block)

    def start_prebuild(
        self,
        *,
        lead_s: float = 10.0,
        slice_s: float = 0.001,
        pause_s: float = 0.004,
        warm: bool = True,
    ) -> None:
        """Start a background thread that builds each block's slates `lead_s` seconds before
        the block starts (by this decider's clock; CPC candidates are then ranked with CTRs
        up to `lead_s` older than a request-time build would read), and a new index's
        slates before the index holder swaps it in, sleeping `pause_s` after each `slice_s`
        of work (see :mod:`backbeat.serving.prebuild`).
        Only for a clock that follows real time (not a simulated one, which the thread
        would wait on in real seconds); stop it with :meth:`stop_prebuild`. A no-op while
        it runs.

        With `warm`, the current block's slates are built first, in the caller's thread, so
        that a ``gc.freeze()`` after start-up takes them in: later blocks reuse most of their
        objects, which the collector's full passes then never walk."""
        if self._builder is not None and self._builder.running:
            return
        holder = self._holder
        self._builder = SlateBuilder(
            self._slates,
            self._serving_index,
            self._clock,
            lead_s=lead_s,
            slice_s=slice_s,
            pause_s=pause_s,
        )
        if warm:
            self._builder.prepare(self._serving_index(), pause=False)
        if holder is not None:
            holder.add_preparer(self._builder.on_new_index)
        self._builder.start()

    def stop_prebuild(self, timeout: float | None = 10.0) -> None:
        """Stop the background builder (a no-op if it is not running); requests build any
        slates they miss from then on."""
        builder = self._builder
        if builder is None:
            return
        if self._holder is not None:
            self._holder.remove_preparer(builder.on_new_index)
        builder.stop(timeout)
        self._builder = None

    @property
    def prebuilding(self) -> bool:
        """Whether the background builder runs."""
        return self._builder is not None and self._builder.running

    def decide(self, req: AdRequest) -> Decision | NoFill:
        """Fill one slot."""
        return self._decide(req, ())

    def decide_many(self, reqs: Sequence[AdRequest]) -> list[Decision | NoFill]:
        """Fill the slots of one page in order; a campaign fills at most one of them (later
        slots count it as ``page_duplicate``)."""
        taken: set[int] = set()
        out: list[Decision | NoFill] = []
        for req in reqs:
            result = self._decide(req, taken)
            if isinstance(result, Decision):
                taken.add(result.campaign_id)
            out.append(result)
        return out

    # internals ---------------------------------------------------------------------------
    def _serving_index(self) -> CandidateIndex:
        """The index requests use now, without the holder's poll (for the builder thread)."""
        holder = self._holder
        if holder is not None:
            return holder.index
        assert self._fixed is not None
        return self._fixed

    def _decide(self, req: AdRequest, exclude: Collection[int]) -> Decision | NoFill:
        holder = self._holder
        index = holder.current() if holder is not None else self._fixed
        assert index is not None
        now = req.now
        if now is None:
            now = self._clock()
            if now.utcoffset() is None:
                raise ValidationFailed.one("now", "the clock must return timezone-aware datetimes")
        pe = index.placements.get(req.placement_id)
        if pe is None:
            return NoFill({UNKNOWN_PLACEMENT: 1})
        if self._require_domain and not domain_matches(req.page_host, pe.site.domain):
            return NoFill({DOMAIN_MISMATCH: 1})
        epoch = now.timestamp()
        slate = self._slates.get(index, pe, req.country, int(epoch // self._block_s))
        ctx = RequestContext(
            req,
            epoch,
            pe.placement,
            pe.site,
            self._counters,
            self._stats,
            self._rng,
            self._local_times,
            exclude,
            slate.ctr,
        )
        winner = self._walk(slate, ctx)
        if winner is None:
            reasons, _ = explain(ctx, pe.fits, index.campaign_count - len(pe.fits))
            return NoFill(reasons)
        return self._decision(winner, ctx, pe, now, req)

    def _walk(self, slate: Slate, ctx: RequestContext) -> Ranked | None:
        """Best-first over the slate's groups; uniformly random order inside a group."""
        ranked = slate.ranked
        random_ = self._rng.random
        req = ctx.req
        site, country, device = ctx.site, req.country, req.device
        floor_micros = ctx.placement.floor_cpm_micros
        exclude = ctx.exclude

        def passes(r: Ranked) -> bool:  # the filters that need no counters
            c = r.cand
            return (
                r.ecpm >= floor_micros
                and placement_ok(r.entry, site, country, device)
                and (not r.check_flight or flight(c, ctx))
                and (r.entry.audiences is None or audience(c, ctx))
                and c.id not in exclude
            )

        batch = 1  # the first candidate that passes usually wins: fetch its counters alone
        best: Ranked | None = None
        best_score = -1.0
        for lo, hi in slate.groups:
            bound = ranked[lo].bound
            if bound <= best_score:
                break
            if hi - lo == 1:  # a bound of its own, the common case: no draw needed
                if not passes(ranked[lo]):
                    continue
                pool = [ranked[lo]]
                n = 0
                pending = pool
            else:
                pool = slate.members(lo, hi)
                n = len(pool)
                pending = []
            while True:
                while n and len(pending) < batch:
                    # Draw without replacement, uniformly: swap-remove from the pool.
                    j = int(random_() * n)
                    r = pool[j]
                    n -= 1
                    pool[j] = pool[n]
                    if passes(r):
                        pending.append(r)
                if not pending:
                    break
                ctx.prefetch([r.cand for r in pending])
                batch = self._prefetch
                for r in pending:
                    score = self._evaluate(r, ctx)
                    if score > best_score:
                        best, best_score = r, score
                    if score >= bound:  # nothing later can beat the group's bound
                        return best
                pending = []
        return best

    @staticmethod
    def _evaluate(r: Ranked, ctx: RequestContext) -> float:
        """The candidate's score for this visitor, or -1 when a counter-based filter
        (budgets, frequency cap, pacing) removes it."""
        c = r.cand
        if not (
            budget_total(c, ctx)
            and budget_daily(c, ctx)
            and frequency_cap(c, ctx)
            and pacing(c, ctx)
        ):
            return -1.0
        if r.entry.awareness and ctx.req.visitor is not None and ctx.exposures(c) == 0:
            return r.score * REACH_BOOST
        return r.score

    def _decision(
        self,
        r: Ranked,
        ctx: RequestContext,
        pe: PlacementEntry,
        now: datetime,
        req: AdRequest,
    ) -> Decision:
        e = r.entry
        creative = pick_creative(e.campaign.objective, r.cand.creatives, self._stats, self._rng)
        ctr = creative_ctr(self._stats, creative)
        ecpm = round(ecpm_micros(e.cpc, e.bid, ctr))
        site = pe.site
        matched = min(e.genres & site.genres, default="") if e.genres is not None else ""
        genre = matched or min(site.genres, default="")
        return Decision(  # positional: a third of the cost of keywords on the hot path
            req.decision_id or self._id_fn(),
            e.campaign,
            creative,
            pe.placement,
            site,
            Pricing.CPC if e.cpc else Pricing.CPM,
            e.unit_price,
            ecpm,
            ctr,
            genre,
            bool(matched),
            req.visitor,
            now,
            ctx.local(e).day,
        )
