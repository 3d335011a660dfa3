"""Ranking math: predicted CTR, expected revenue per impression, and creative rotation.

Predicted CTR is the mean of a creative's Beta posterior, Beta(a0 + clicks, b0 + misses),
whose prior mean is the benchmark CTR of the creative's format (the empirical-Bayes
shrinkage described by D. Robinson, 2015; see /work/shared/reference.md, "Statistics").
Inside the winning campaign, traffic and retargeting campaigns pick a creative by Thompson
sampling on those posteriors (Chapelle & Li, NIPS 2011), so a better creative wins more often
as evidence accrues while weaker ones still get explored; awareness rotates evenly.

Scores are floats because they are predictions used for ordering; what is billed is the
integer bid (see :class:`~backbeat.serving.request.Decision`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from backbeat.domain.campaign import Objective
from backbeat.domain.creative import Creative
from backbeat.domain.taxonomy import AdFormat
from backbeat.serving.stats import CreativeStats

# Prior mean CTR per format, from the benchmarks in /work/shared/reference.md: music-site
# display runs 0.5–1% (seed document; GDN all-industry ~0.46%, so 0.75% is mid-range for a
# music audience); native cards behave like in-feed social, ~0.9–1% (WordStream 2017 "CTR
# (all)", seed 1–2%); video is "> 2%" in the seed (MediaMind in-stream 1.11%, 2012), so 2%.
PRIOR_CTR: dict[AdFormat, float] = {
    AdFormat.DISPLAY: 0.0075,
    AdFormat.NATIVE: 0.010,
    AdFormat.VIDEO: 0.020,
}
# Prior strength in pseudo-impressions: a new creative needs on the order of a thousand real
# impressions before its own CTR outweighs the format benchmark.
PRIOR_STRENGTH = 1000.0
# Awareness buys reach: a campaign that has not yet reached this visitor (0 exposures in its
# cap window, or REACH_WINDOW_S without a cap) ranks as if its bid were 25% higher.
REACH_BOOST = 1.25
REACH_WINDOW_S = 24 * 3600  # a cookieless visitor id lives one day (reference.md, Plausible)


PRIORS: dict[AdFormat, tuple[float, float]] = {
    fmt: (mean * PRIOR_STRENGTH, (1.0 - mean) * PRIOR_STRENGTH) for fmt, mean in PRIOR_CTR.items()
}


def prior(fmt: AdFormat) -> tuple[float, float]:
    """(alpha0, beta0) of the format's Beta prior."""
    return PRIORS[fmt]


def posterior(fmt: AdFormat, impressions: int, clicks: int) -> tuple[float, float]:
    """(alpha, beta) of the creative's Beta posterior. Clicks above impressions (raw data
    can carry them) count as a full hit rate, never as negative misses."""
    a0, b0 = PRIORS[fmt]
    clicks = min(clicks, impressions)
    return a0 + clicks, b0 + (impressions - clicks)


def predicted_ctr(fmt: AdFormat, impressions: int, clicks: int) -> float:
    """The posterior mean CTR: (a0 + clicks) / (a0 + b0 + impressions)."""
    a0, b0 = PRIORS[fmt]
    return (a0 + min(clicks, impressions)) / (a0 + b0 + impressions)


def creative_ctr(stats: CreativeStats, creative: Creative) -> float:
    imps, clicks = stats.get(_cid(creative))
    return predicted_ctr(creative.format, imps, clicks)


def campaign_ctr(stats: CreativeStats, creatives: Sequence[Creative]) -> float:
    """The campaign's predicted CTR on a placement: its best eligible creative's, because
    rotation by Thompson sampling converges on that creative."""
    return max(creative_ctr(stats, c) for c in creatives)


def expected_revenue(cpc: bool, bid_micros: int, ctr: float) -> float:
    """Expected revenue per impression, in micros: CPM bid / 1000, or CPC bid x CTR."""
    return bid_micros * ctr if cpc else bid_micros / 1000.0


def ecpm_micros(cpc: bool, bid_micros: int, ctr: float) -> float:
    """Effective CPM in micros (expected revenue per 1000 impressions), for floor checks."""
    return bid_micros * ctr * 1000.0 if cpc else float(bid_micros)


def thompson_pick(
    creatives: Sequence[Creative], stats: CreativeStats, rng: random.Random
) -> Creative:
    """Draw one CTR from each creative's posterior and take the highest draw."""
    if len(creatives) == 1:
        return creatives[0]
    best = creatives[0]
    best_draw = -1.0
    for c in creatives:
        imps, clicks = stats.get(_cid(c))
        a, b = posterior(c.format, imps, clicks)
        draw = rng.betavariate(a, b)
        if draw > best_draw:
            best, best_draw = c, draw
    return best


def even_pick(creatives: Sequence[Creative], stats: CreativeStats, rng: random.Random) -> Creative:
    """The least-served creative (by impressions); ties broken uniformly with the RNG."""
    if len(creatives) == 1:
        return creatives[0]
    served = [stats.impressions(_cid(c)) for c in creatives]
    least = min(served)
    tied = [c for c, n in zip(creatives, served, strict=True) if n == least]
    return tied[0] if len(tied) == 1 else tied[int(rng.random() * len(tied))]


def pick_creative(
    objective: Objective,
    creatives: Sequence[Creative],
    stats: CreativeStats,
    rng: random.Random,
) -> Creative:
    """Rotate creatives inside the winning campaign according to its objective."""
    if objective is Objective.AWARENESS:
        return even_pick(creatives, stats, rng)
    return thompson_pick(creatives, stats, rng)


def _cid(creative: Creative) -> int:
    return creative.id if creative.id is not None else 0
