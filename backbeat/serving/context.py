"""The per-request context: what the predicates read, with counters fetched in batches.

Counter reads are grouped so that each batch costs one ``spend_many`` per distinct local day
label and one ``exposures`` per distinct window (one round trip each with Redis), and each
campaign is fetched at most once per request.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

from backbeat.domain.inventory import Placement, Site
from backbeat.serving.entries import CampaignEntry, Candidate
from backbeat.serving.localtime import LocalTime, LocalTimes
from backbeat.serving.ranking import campaign_ctr
from backbeat.serving.request import AdRequest
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.protocol import Counters, Spend


class RequestContext:
    """Implements :class:`backbeat.serving.targeting.Context` for one request."""

    __slots__ = (
        "_counters",
        "_exposures",
        "_local_times",
        "_spends",
        "_stats",
        "ctr_by_campaign",
        "epoch",
        "exclude",
        "pacing_memo",
        "placement",
        "req",
        "rng",
        "site",
    )

    def __init__(
        self,
        req: AdRequest,
        epoch: float,
        placement: Placement,
        site: Site,
        counters: Counters,
        stats: CreativeStats,
        rng: random.Random,
        local_times: LocalTimes,
        exclude: Collection[int],
        ctr_by_campaign: dict[int, float],
    ) -> None:
        self.req = req
        self.epoch = epoch
        self.placement = placement
        self.site = site
        self.rng = rng
        self.exclude = exclude
        self.pacing_memo: dict[int, bool] = {}
        self.ctr_by_campaign = ctr_by_campaign
        self._counters = counters
        self._stats = stats
        self._local_times = local_times
        self._spends: dict[int, Spend] = {}
        self._exposures: dict[int, int] = {}

    def local(self, entry: CampaignEntry) -> LocalTime:
        return self._local_times.get(entry.tz, self.epoch)

    def spend(self, cand: Candidate) -> Spend:
        got = self._spends.get(cand.id)
        if got is None:
            self.prefetch((cand,))
            got = self._spends[cand.id]
        return got

    def exposures(self, cand: Candidate) -> int:
        """Impressions of the campaign to this visitor within its exposure window (0 for an
        anonymous visitor)."""
        if self.req.visitor is None:
            return 0
        got = self._exposures.get(cand.id)
        if got is None:
            self.prefetch((cand,))
            got = self._exposures.get(cand.id, 0)
        return got

    def ctr(self, cand: Candidate) -> float:
        """The CTR the campaign was ranked with in this time block (live stats otherwise)."""
        got = self.ctr_by_campaign.get(cand.id)
        return got if got is not None else campaign_ctr(self._stats, cand.creatives)

    def prefetch(self, cands: Sequence[Candidate]) -> None:
        """Fetch spend (and, for an identified visitor, exposures) of every candidate not
        fetched yet."""
        spends = self._spends
        seen = self._exposures
        visitor = self.req.visitor
        if len(cands) == 1:  # the common case, without the grouping
            e = cands[0].entry
            if e.id not in spends:
                day = self._local_times.get(e.tz, self.epoch).day
                spends[e.id] = self._counters.spend_many((e.id,), day).get(e.id, _NO_SPEND)
            if visitor is not None and (e.cap is not None or e.awareness) and e.id not in seen:
                counts = self._counters.exposures(visitor, (e.id,), self.epoch, e.exposure_window_s)
                seen[e.id] = counts.get(e.id, 0)
            return
        by_day: dict[str, list[int]] = {}
        by_window: dict[int, list[int]] = {}
        for c in cands:
            e = c.entry
            if e.id not in spends:
                by_day.setdefault(self._local_times.get(e.tz, self.epoch).day, []).append(e.id)
            if visitor is not None and (e.cap is not None or e.awareness) and e.id not in seen:
                by_window.setdefault(e.exposure_window_s, []).append(e.id)
        for day, ids in by_day.items():
            got = self._counters.spend_many(ids, day)
            for cid in ids:  # a backend may leave out campaigns it has never seen
                spends[cid] = got.get(cid, _NO_SPEND)
        if visitor is not None:
            for window, ids in by_window.items():
                counts = self._counters.exposures(visitor, ids, self.epoch, window)
                for cid in ids:
                    seen[cid] = counts.get(cid, 0)


_NO_SPEND = Spend(0, 0)
