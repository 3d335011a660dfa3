"""Creative causes of a low CTR: one creative lagging its siblings, or every creative low.

One weak creative: each creative against the pooled rest (z-test, Holm across creatives,
shrinkage; see `compare`). Every creative low: each creative with enough impressions is
below the benchmark (Wilson interval wholly under it), and so is delivery on genre-matched
and on mismatched sites, so the audience cannot be what holds the CTR down.
"""

from __future__ import annotations

from backbeat.analytics.benchmarks import Benchmark, Position, verdict
from backbeat.analytics.diagnosis.compare import lagging
from backbeat.analytics.diagnosis.finding import (
    Evidence,
    Finding,
    FindingKind,
    Severity,
    Thresholds,
)
from backbeat.analytics.diagnosis.wording import count, p_text, pct, typical
from backbeat.analytics.inputs import CampaignFacts, Counts


def weak_creatives(facts: CampaignFacts, th: Thresholds, severity: Severity) -> list[Finding]:
    """One finding per creative whose CTR is clearly below the other creatives'."""
    items = [(c.name, c.counts) for c in facts.creatives]
    if len(items) < 2:
        return []
    lags = lagging(
        [items],
        alpha=th.family_alpha,
        min_impressions=th.min_item_impressions,
        min_gap=th.min_relative_gap,
    )
    findings = []
    for lag in lags:
        if not lag.flagged:
            continue
        name, item, rest = lag.name, lag.item, lag.rest
        missed = round(item.impressions * lag.rest_rate) - item.clicks
        findings.append(
            Finding(
                FindingKind.WEAK_CREATIVE,
                severity,
                f"The creative “{name}” gets far fewer clicks than your other ads",
                f"People who saw “{name}” clicked {pct(item.clicks / item.impressions)} of "
                f"the time; your other creatives got {pct(lag.rest_rate)}. A gap this size "
                "is not chance: we compared every creative with the rest and allowed for "
                "testing several at once, so an unlucky ad is not singled out. Your creatives "
                "ran in the same campaign, so the difference is most likely the ad itself: "
                "its image, its words or its call to action. If this creative is a different "
                "size from the others it also ran on different placements, so check the site "
                "breakdown too.",
                (
                    Evidence.rate(f"CTR of “{name}”", item.clicks, item.impressions, th.confidence),
                    Evidence.rate(
                        "CTR of your other creatives", rest.clicks, rest.impressions, th.confidence
                    ),
                    Evidence.note(
                        "Impressions on this creative", count(item.impressions), item.impressions
                    ),
                    Evidence.note(
                        "Statistical test",
                        f"two-proportion z = {lag.z:.2f}, {p_text(lag.p_adjusted)} after Holm "
                        f"adjustment across {len(lags)} creatives; shrunk CTR "
                        f"{pct(lag.shrunk)}",
                        lag.p_adjusted,
                    ),
                    Evidence.note(
                        "Clicks missed",
                        f"about {count(max(missed, 0))} more clicks had it done as well as "
                        "the others",
                        float(max(missed, 0)),
                    ),
                ),
                f"Pause “{name}” or replace it, and let your other creatives take its "
                "impressions. If you replace it, keep what works in your best creative and "
                "change one thing at a time, so the next comparison tells you why.",
                (name,),
            )
        )
    return findings


def _not_good(counts: Counts, bench: Benchmark, th: Thresholds) -> bool:
    """True when this slice is clearly below the benchmark, or too small to say otherwise
    but with its observed CTR below it."""
    if counts.impressions == 0:
        return True
    v = verdict(counts.clicks, counts.impressions, bench, th.confidence)
    if v.outcome is Position.BELOW:
        return True
    return v.outcome is Position.NOT_ENOUGH_DATA and counts.clicks < counts.impressions * float(
        bench.low
    )


def all_creatives_weak(facts: CampaignFacts, th: Thresholds, bench: Benchmark) -> Finding | None:
    """Every creative below the benchmark, on genre-matched and on mismatched sites alike."""
    tested = [c for c in facts.creatives if c.impressions >= th.min_item_impressions]
    if not tested:
        return None
    for c in tested:
        v = verdict(c.clicks, c.impressions, bench, th.confidence)
        if v.outcome is not Position.BELOW:
            return None
        if c.by_genre is not None:
            cells = (c.by_genre.matched, c.by_genre.mismatched)
            if not all(_not_good(cell, bench, th) for cell in cells):
                return None
    # "Everywhere" needs the audiences: without a genre split a targeting cause is not ruled out.
    split = facts.genre_counts()
    if split is None:
        return None
    audiences = [
        (label, counts)
        for label, counts in (
            ("CTR on sites matching your genre", split.matched),
            ("CTR on other sites", split.mismatched),
        )
        if counts.impressions >= th.min_item_impressions
    ]
    if not audiences:
        return None
    for _, counts in audiences:
        outcome = verdict(counts.clicks, counts.impressions, bench, th.confidence).outcome
        if outcome is not Position.BELOW:
            return None
    where = (
        "on sites that match your genre and on the others alike"
        if len(audiences) == 2
        else "on every site they ran on"
    )
    band = typical(bench.low, bench.high)
    evidence = [
        Evidence.rate(f"CTR of “{c.name}”", c.clicks, c.impressions, th.confidence)
        for c in tested[:6]
    ]
    evidence += [
        Evidence.rate(label, c.clicks, c.impressions, th.confidence) for label, c in audiences
    ]
    evidence.append(Evidence.note("Typical CTR", f"{band} for {bench.label} ({bench.citation})"))
    return Finding(
        FindingKind.ALL_CREATIVES_WEAK,
        Severity.WARNING,
        "All your creatives get few clicks, everywhere they run"
        if len(tested) > 1
        else "Your creative gets few clicks, everywhere it runs",
        f"{'Every' if len(tested) > 1 else 'Your'} creative's click-through rate (the share of "
        f"people who click after seeing the ad) is below the {band} typical for {bench.label}, "
        f"{where}. When every ad is low with every audience, the audience is not what holds "
        "clicks down; the ads are.",
        tuple(evidence),
        "Make new creatives and test two or three against each other: a strong image (you, or "
        "the cover art), a short clear call to action (“Listen now”), and the release named. "
        "Keep the same targeting while you test, so the comparison is fair.",
        tuple(c.name for c in tested),
    )
