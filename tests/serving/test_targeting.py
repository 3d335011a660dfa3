"""The named predicates, their order, and explain()."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

from backbeat.domain.campaign import Campaign, FrequencyCap, Pacing
from backbeat.domain.inventory import Site
from backbeat.domain.taxonomy import DeviceType
from backbeat.serving.context import RequestContext
from backbeat.serving.entries import CampaignEntry, Candidate
from backbeat.serving.localtime import LocalTimes
from backbeat.serving.request import AdRequest
from backbeat.serving.stats import CreativeStats
from backbeat.serving.targeting import (
    FILTER_NAMES,
    country,
    device,
    explain,
    genre,
    pacing,
    placement_ok,
    site,
)
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.protocol import Spend
from tests.serving.factories import NOW, USD, campaign, creative, placement, request, targeting
from tests.serving.factories import site as make_site


def cand(camp: Campaign) -> Candidate:
    e = CampaignEntry(camp, [creative(10 * (camp.id or 0), camp.id or 0)])
    return Candidate(e, e.creatives)


def context(
    req: AdRequest | None = None,
    *,
    on: Site | None = None,
    counters: MemoryCounters | None = None,
    rng: random.Random | None = None,
) -> RequestContext:
    r = req or request()
    return RequestContext(
        r,
        (r.now or NOW).timestamp(),
        placement(),
        on or make_site(),
        counters or MemoryCounters(),
        CreativeStats(),
        rng or random.Random(1),
        LocalTimes(),
        (),
        {},
    )


def test_filters_run_in_the_documented_order() -> None:
    assert FILTER_NAMES == (
        "format_size",
        "flight",
        "genre",
        "country",
        "device",
        "daypart",
        "site",
        "audience",
        "budget_total",
        "budget_daily",
        "frequency_cap",
        "pacing",
        "floor",
        "page_duplicate",
    )


def test_placement_ok_is_the_four_static_predicates_together() -> None:
    rng = random.Random(9)
    genres, countries = ["rock", "pop", "jazz", "metal"], ["US", "DE", "FR"]
    for i in range(400):
        t = targeting(
            genres=frozenset(rng.sample(genres, rng.randint(0, 2))),
            countries=frozenset(rng.sample(countries, rng.randint(0, 2))),
            devices=frozenset(rng.sample(list(DeviceType), rng.randint(0, 2))),
            sites_include=frozenset(rng.sample([1, 2, 3], rng.randint(0, 1))),
            sites_exclude=frozenset(rng.sample([4, 5], rng.randint(0, 1))),
        )
        c = cand(campaign(i + 1, targeting=t))
        on = make_site(rng.choice([1, 2, 4]), genres=frozenset(rng.sample(genres, 2)))
        req = request(country=rng.choice([*countries, None]), device=rng.choice(list(DeviceType)))
        ctx = context(req, on=on)
        each = genre(c, ctx) and country(c, ctx) and device(c, ctx) and site(c, ctx)
        assert placement_ok(c.entry, on, req.country, req.device) == each


def test_pacing_draws_once_per_campaign_per_request() -> None:
    c = cand(campaign(1, pacing=Pacing.EVEN, budget_total_micros=100 * USD))
    counters = MemoryCounters()
    counters.add_spend(1, "2026-03-10", 51 * USD + 500_000)  # 1.5 tolerances ahead: p = 0.22
    outcomes = []
    for seed in range(200):
        ctx = context(counters=counters, rng=random.Random(seed))
        first = pacing(c, ctx)
        assert all(pacing(c, ctx) == first for _ in range(5))  # memoised, no new draws
        outcomes.append(first)
    assert 20 <= sum(outcomes) <= 70


def test_asap_and_on_schedule_campaigns_never_draw() -> None:
    class NoDraws(random.Random):
        def random(self) -> float:
            raise AssertionError("no draw expected")

    counters = MemoryCounters()
    asap = cand(campaign(1, pacing=Pacing.ASAP, budget_total_micros=100 * USD))
    behind = cand(campaign(2, pacing=Pacing.EVEN, budget_total_micros=100 * USD))
    counters.add_spend(1, "2026-03-10", 99 * USD)
    counters.add_spend(2, "2026-03-10", 10 * USD)  # 10% spent at 50% of the flight
    ctx = context(counters=counters, rng=NoDraws())
    assert pacing(asap, ctx) and pacing(behind, ctx)


def test_explain_counts_each_candidate_once_in_filter_order() -> None:
    counters = MemoryCounters()
    cands = [
        cand(
            campaign(
                1, start=NOW + timedelta(hours=1), targeting=targeting(countries=frozenset({"FR"}))
            )
        ),
        cand(
            campaign(
                2,
                targeting=targeting(countries=frozenset({"FR"})),
                frequency_cap=FrequencyCap(1, 1),
            )
        ),
        cand(campaign(3, frequency_cap=FrequencyCap(1, 1))),
        cand(campaign(4)),
    ]
    counters.record_exposure("visitor-1", 3, NOW.timestamp() - 10, 3600)
    reasons, survivors = explain(context(counters=counters), cands, not_fitting=5)
    assert reasons == {"format_size": 5, "flight": 1, "country": 1, "frequency_cap": 1}
    assert [c.id for c in survivors] == [4]


def test_explain_reads_counters_once_for_the_survivors_of_the_cheap_filters() -> None:
    calls: list[tuple[str, tuple[int, ...]]] = []

    class Recording(MemoryCounters):
        """Real in-process counters that log which campaigns each read asks for."""

        def spend_many(self, campaign_ids: Sequence[int], day: str) -> dict[int, Spend]:
            calls.append(("spend", tuple(campaign_ids)))
            return super().spend_many(campaign_ids, day)

        def exposures(
            self, visitor: str, campaign_ids: Sequence[int], now: float, window_s: int
        ) -> dict[int, int]:
            calls.append(("exposures", tuple(campaign_ids)))
            return super().exposures(visitor, campaign_ids, now, window_s)

    cands = [
        cand(campaign(1, targeting=targeting(countries=frozenset({"FR"})))),
        cand(campaign(2, frequency_cap=FrequencyCap(2, 1))),
        cand(campaign(3)),
    ]
    explain(context(counters=Recording()), cands)
    assert calls == [("spend", (2, 3)), ("exposures", (2,))]
