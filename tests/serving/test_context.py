"""RequestContext: counters are read in batches, once per campaign and request."""

from __future__ import annotations

import random
from collections.abc import Sequence

from backbeat.domain.campaign import Campaign, FrequencyCap, Objective
from backbeat.serving.context import RequestContext
from backbeat.serving.entries import CampaignEntry, Candidate
from backbeat.serving.localtime import LocalTimes
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.protocol import Spend
from tests.serving.factories import NOW, campaign, creative, placement, request, site


class Recording(MemoryCounters):
    """Real in-process counters that also log every read the context makes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, object, tuple[int, ...]]] = []

    def spend_many(self, campaign_ids: Sequence[int], day: str) -> dict[int, Spend]:
        self.calls.append(("spend", day, tuple(campaign_ids)))
        return super().spend_many(campaign_ids, day)

    def exposures(
        self, visitor: str, campaign_ids: Sequence[int], now: float, window_s: int
    ) -> dict[int, int]:
        self.calls.append(("exposures", window_s, tuple(campaign_ids)))
        return super().exposures(visitor, campaign_ids, now, window_s)


def cand(camp: Campaign) -> Candidate:
    e = CampaignEntry(camp, [creative(10 * (camp.id or 0), camp.id or 0)])
    return Candidate(e, e.creatives)


def ctx_for(counters: Recording, visitor: str | None = "visitor-1") -> RequestContext:
    req = request(visitor=visitor)
    return RequestContext(
        req,
        NOW.timestamp(),
        placement(),
        site(),
        counters,
        CreativeStats(),
        random.Random(1),
        LocalTimes(),
        (),
        {},
    )


def test_one_read_per_day_label_and_window() -> None:
    # 15:00 UTC is still March 10 in New York but already March 11 in Tokyo.
    cands = [
        cand(campaign(1)),
        cand(campaign(2, timezone="Asia/Tokyo", frequency_cap=FrequencyCap(3, 24))),
        cand(campaign(3, timezone="America/New_York", objective=Objective.AWARENESS)),
        cand(campaign(4, frequency_cap=FrequencyCap(1, 1))),
    ]
    counters = Recording()
    counters.add_spend(2, "2026-03-11", 7)
    counters.record_exposure("visitor-1", 4, NOW.timestamp() - 5, 3600)
    ctx = ctx_for(counters)
    ctx.prefetch(cands)
    assert sorted(counters.calls) == sorted(
        [
            ("spend", "2026-03-10", (1, 3, 4)),
            ("spend", "2026-03-11", (2,)),
            ("exposures", 86_400, (2, 3)),
            ("exposures", 3600, (4,)),
        ]
    )
    assert ctx.spend(cands[1]) == Spend(7, 7)
    assert ctx.exposures(cands[3]) == 1 and ctx.exposures(cands[2]) == 0
    ctx.prefetch(cands)
    assert len(counters.calls) == 4  # everything was fetched already


def test_single_candidate_and_lazy_reads() -> None:
    counters = Recording()
    ctx = ctx_for(counters)
    c = cand(campaign(5, frequency_cap=FrequencyCap(2, 2)))
    assert ctx.exposures(c) == 0 and ctx.spend(c) == Spend(0, 0)
    assert counters.calls == [("spend", "2026-03-10", (5,)), ("exposures", 7200, (5,))]


def test_anonymous_visitor_reads_no_exposures() -> None:
    counters = Recording()
    ctx = ctx_for(counters, visitor=None)
    c = cand(campaign(6, frequency_cap=FrequencyCap(2, 2)))
    ctx.prefetch([c])
    assert ctx.exposures(c) == 0
    assert [name for name, _, _ in counters.calls] == ["spend"]
