"""Frequency fatigue: people click less each time they see the same ad again.

Test: the Cochran–Armitage trend test of CTR across exposure buckets (1st view, 2nd, 3rd,
4th or more), scored by exposure number. Fatigue is reported when the trend is downward at
the family alpha AND the last bucket's CTR is at least `fatigue_min_drop` below the first
view's, so a statistically real but tiny decline is not called fatigue.

The cap recommended is one below the first exposure whose CTR is both clearly lower than the
first view's (z-test at 5%) and `fatigue_min_drop` below it; failing that, one below the
first exposure whose CTR is that far down at all. Common caps are 3 per person per 24 hours
(reference.md, "Reach, frequency, privacy").
"""

from __future__ import annotations

from backbeat.analytics.diagnosis.compare import trend_test
from backbeat.analytics.diagnosis.finding import (
    Evidence,
    Finding,
    FindingKind,
    Severity,
    Thresholds,
)
from backbeat.analytics.diagnosis.wording import p_text, pct
from backbeat.analytics.inputs import CampaignFacts, Counts, FrequencyBucket
from backbeat.analytics.stats import two_proportion_z_test

CAP_TEST_ALPHA = 0.05


def _label(b: FrequencyBucket) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(b.exposure if b.exposure < 20 else b.exposure % 10)
    ordinal = f"{b.exposure}{suffix or 'th'}"
    return f"{ordinal} view or later" if b.and_more else f"{ordinal} view"


def recommended_views(buckets: list[FrequencyBucket], min_drop: float) -> int:
    """How many views per person still pay off (see the module docstring); at least 1."""
    first = buckets[0]
    rate1 = first.clicks / first.impressions
    fallback = None
    for b in buckets[1:]:
        if b.impressions == 0:
            continue
        dropped = b.clicks / b.impressions <= (1 - min_drop) * rate1
        if not dropped:
            continue
        z, p = two_proportion_z_test(first.clicks, first.impressions, b.clicks, b.impressions)
        if z < 0 and p < CAP_TEST_ALPHA:
            return max(1, b.exposure - 1)
        fallback = fallback or max(1, b.exposure - 1)
    return fallback or buckets[-1].exposure


def frequency_fatigue(facts: CampaignFacts, th: Thresholds) -> Finding | None:
    """A warning when CTR falls clearly as people see the ad again (see module docstring)."""
    buckets = [b for b in facts.frequency if b.impressions > 0]
    if len(buckets) < 2 or buckets[0].exposure != 1:
        return None
    first, last = buckets[0], buckets[-1]
    if first.impressions < th.min_item_impressions or first.clicks == 0:
        return None
    test = trend_test([(float(b.exposure), Counts(b.impressions, b.clicks)) for b in buckets])
    if test is None or test.z >= 0 or test.p_value >= th.family_alpha:
        return None
    rate1, rate_last = first.clicks / first.impressions, last.clicks / last.impressions
    if rate_last > (1 - th.fatigue_min_drop) * rate1:
        return None
    views = recommended_views(buckets, th.fatigue_min_drop)
    cap = facts.frequency_cap
    hours = cap.hours if cap is not None else 24
    window = "day" if hours == 24 else f"{hours} hours"
    if cap is None:
        action = (
            f"Set a frequency cap of {views} per person per day, so the budget goes to people "
            "who haven't seen the ad yet rather than to people who have stopped noticing it."
        )
    elif views < cap.impressions:
        action = (
            f"Lower the frequency cap from {cap.impressions} to {views} per person per "
            f"{window}, so the budget reaches new people instead."
        )
    else:
        action = (
            f"Your cap of {cap.impressions} per {window} already keeps each day's views low; "
            "the repeats build up across days. Refresh the creative (a new image or message "
            "wakes people up) or widen targeting so the same people aren't reached over and "
            "over."
        )
    evidence = [
        Evidence.rate(f"CTR on the {_label(b)}", b.clicks, b.impressions, th.confidence)
        for b in buckets[:6]
    ]
    evidence += [
        Evidence.note(
            "Trend test",
            f"Cochran–Armitage z = {test.z:.2f}, {p_text(test.p_value)}",
            test.p_value,
        ),
        Evidence.note("Views per person that still pay off", str(views), float(views)),
    ]
    return Finding(
        FindingKind.FREQUENCY_FATIGUE,
        Severity.WARNING,
        "People stop clicking after seeing your ad a few times",
        f"On the first view {pct(rate1)} of people clicked; by the {_label(last)} only "
        f"{pct(rate_last)} did. The fall is steady and too large to be chance. Each extra "
        "view of the same ad to the same person costs as much as a first view but brings "
        "far fewer clicks.",
        tuple(evidence),
        action,
    )
