"""Campaign facts drawn from known true CTRs, for planted-truth tests of diagnosis.

Every creative runs on every site (one placement per site) in equal shares; each
creative x site cell gets a fixed number of impressions and Binomial(n, true CTR) clicks,
drawn with numpy's seeded generator (numpy comes with the dev extra's scipy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from backbeat.analytics.inputs import (
    CampaignFacts,
    Counts,
    CreativeFacts,
    FrequencyBucket,
    GenreSplit,
    PlacementFacts,
)
from backbeat.domain.campaign import Objective, Pricing
from backbeat.domain.taxonomy import AdFormat

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 3, 31, tzinfo=UTC)
# Halfway through the flight with half the budget spent: on pace, so no pacing finding.
NOW = datetime(2025, 3, 16, tzinfo=UTC)
BUDGET = 1_000 * 1_000_000


@dataclass(frozen=True)
class Site:
    name: str
    genre_match: bool
    share: float  # of all impressions


def even_sites(matched: int, mismatched: int, mismatched_share: float = 0.5) -> list[Site]:
    sites = [Site(f"matched-{i}", True, (1 - mismatched_share) / matched) for i in range(matched)]
    sites += [Site(f"other-{i}", False, mismatched_share / mismatched) for i in range(mismatched)]
    return sites


def draw(
    rng: np.random.Generator,
    creatives: Sequence[str],
    sites: Sequence[Site],
    true_ctr: Callable[[str, Site], float],
    impressions: int,
    *,
    objective: Objective = Objective.TRAFFIC,
    frequency: Sequence[FrequencyBucket] = (),
) -> CampaignFacts:
    """Facts for one campaign whose cell (creative, site) has CTR true_ctr(creative, site)."""
    per_creative: dict[str, list[Counts]] = {c: [Counts(0, 0), Counts(0, 0)] for c in creatives}
    placements = []
    for s_id, site in enumerate(sites, start=1):
        site_counts = Counts(0, 0)
        for name in creatives:
            n = round(impressions * site.share / len(creatives))
            k = int(rng.binomial(n, true_ctr(name, site)))
            cell = Counts(n, k)
            site_counts += cell
            side = 0 if site.genre_match else 1
            per_creative[name][side] += cell
        placements.append(
            PlacementFacts(
                placement_id=s_id,
                placement_name="sidebar",
                site_id=s_id,
                site_name=site.name,
                impressions=site_counts.impressions,
                clicks=site_counts.clicks,
                genre_match=site.genre_match,
            )
        )
    creative_facts = tuple(
        CreativeFacts(
            i,
            name,
            matched.impressions + other.impressions,
            matched.clicks + other.clicks,
            GenreSplit(matched, other),
        )
        for i, (name, (matched, other)) in enumerate(per_creative.items(), start=1)
    )
    total_n = sum(p.impressions for p in placements)
    total_c = sum(p.clicks for p in placements)
    return CampaignFacts(
        campaign_id=1,
        name="Planted",
        objective=objective,
        format=AdFormat.DISPLAY,
        pricing=Pricing.CPM,
        bid_micros=2_500_000,
        budget_micros=BUDGET,
        start=START,
        end=END,
        impressions=total_n,
        clicks=total_c,
        spend_micros=BUDGET // 2,
        creatives=creative_facts,
        placements=tuple(placements),
        frequency=tuple(frequency),
    )


def draw_frequency(
    rng: np.random.Generator, rates: Sequence[float], impressions: Sequence[int]
) -> tuple[FrequencyBucket, ...]:
    """Buckets 1..k (the last open-ended) with Binomial clicks at the given true CTRs."""
    last = len(rates)
    return tuple(
        FrequencyBucket(i, n, int(rng.binomial(n, p)), and_more=i == last)
        for i, (p, n) in enumerate(zip(rates, impressions, strict=True), start=1)
    )


def base_facts(**changes: object) -> CampaignFacts:
    """A hand-made traffic display campaign, on pace at NOW; override any field."""
    fields: dict[str, object] = {
        "campaign_id": 1,
        "name": "Hand made",
        "objective": Objective.TRAFFIC,
        "format": AdFormat.DISPLAY,
        "pricing": Pricing.CPM,
        "bid_micros": 2_500_000,
        "budget_micros": BUDGET,
        "start": START,
        "end": END,
        "impressions": 100_000,
        "clicks": 700,
        "spend_micros": BUDGET // 2,
    }
    fields.update(changes)
    return CampaignFacts(**fields)  # type: ignore[arg-type]
