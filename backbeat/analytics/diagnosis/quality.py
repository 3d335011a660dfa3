"""Delivery quality: placements whose ads are rarely seen, and sites sending invalid traffic.

Low viewability: a placement's viewable / measured rate, with its Wilson upper bound below
`viewability_floor` (50%). The MRC counts a display ad as viewable when half its pixels are
on screen for one second (two for video); the IAB asked for 70% of measured impressions to be
viewable ("State of Viewability Transaction 2015"). The intervals are Bonferroni-corrected
across placements (confidence 1 - quality_alpha / m), so among many fine placements one is
not flagged by chance.

Invalid traffic: a site's invalid share, invalid / (valid + invalid impressions), with its
Wilson lower bound (Bonferroni across sites) above `ivt_ceiling` (10%), broken down by the
reason each impression was flagged. Invalid impressions are never billed; the finding is
about the site's quality.
"""

from __future__ import annotations

from collections import Counter

from backbeat.analytics.diagnosis.finding import (
    Evidence,
    Finding,
    FindingKind,
    Severity,
    Thresholds,
)
from backbeat.analytics.diagnosis.wording import count, names, share
from backbeat.analytics.inputs import CampaignFacts
from backbeat.analytics.stats import wilson_interval


def _bonferroni(alpha: float, tests: int) -> float:
    return 1 - alpha / max(1, tests)


def low_viewability(facts: CampaignFacts, th: Thresholds) -> Finding | None:
    """A warning naming the placements whose ads are clearly seen less than half the time."""
    measured = [pl for pl in facts.placements if pl.measured > 0]
    confidence = _bonferroni(th.quality_alpha, len(measured))
    flagged = []
    for pl in measured:
        ci = wilson_interval(pl.viewable, pl.measured, confidence)
        if ci.high < th.viewability_floor:
            flagged.append(pl)
    if not flagged:
        return None
    flagged.sort(key=lambda pl: -pl.impressions)
    labels = [f"{pl.site_name} / {pl.placement_name}" for pl in flagged]
    portion = sum(pl.impressions for pl in flagged) / max(1, facts.impressions)
    evidence = [
        Evidence.rate(f"Viewability of {label}", pl.viewable, pl.measured, confidence)
        for label, pl in zip(labels[:6], flagged[:6], strict=True)
    ]
    if facts.measured:
        evidence.append(
            Evidence.rate(
                "Viewability of the whole campaign", facts.viewable, facts.measured, th.confidence
            )
        )
    evidence.append(
        Evidence.note("Share of your impressions on these placements", share(portion), portion)
    )
    return Finding(
        FindingKind.LOW_VIEWABILITY,
        Severity.WARNING,
        "Some placements show your ad where people rarely see it",
        f"On {names(labels)}, fewer than {share(th.viewability_floor)} of your ads were "
        "actually seen: an ad counts as seen (“viewable”) when at least half of it is on "
        "screen for a full second (two seconds for video). The industry aims for "
        f"{share(th.viewability_goal)}. Ads low on the page or in slots people scroll past "
        "cost the same but can't be clicked or remembered.",
        tuple(evidence),
        f"Exclude {names(labels)} or ask the publisher for a better slot (above the fold, "
        "next to the player or tracklist).",
        tuple(labels),
    )


def invalid_traffic(facts: CampaignFacts, th: Thresholds) -> Finding | None:
    """A warning naming the sites where clearly more than `ivt_ceiling` of traffic is invalid."""
    sites: dict[int, tuple[str, int, Counter[str]]] = {}
    for pl in facts.placements:
        name, valid, reasons = sites.get(pl.site_id, (pl.site_name, 0, Counter[str]()))
        reasons.update(pl.invalid)
        sites[pl.site_id] = (name, valid + pl.impressions, reasons)
    tested = [s for s in sites.values() if s[1] + sum(s[2].values()) > 0]
    confidence = _bonferroni(th.quality_alpha, len(tested))
    flagged = []
    for name, valid, reasons in tested:
        invalid = sum(reasons.values())
        ci = wilson_interval(invalid, valid + invalid, confidence)
        if ci.low > th.ivt_ceiling:
            flagged.append((name, valid, reasons, invalid))
    if not flagged:
        return None
    flagged.sort(key=lambda s: -s[3])
    evidence = []
    for name, valid, reasons, invalid in flagged[:5]:
        evidence.append(
            Evidence.rate(f"Invalid share on {name}", invalid, valid + invalid, confidence)
        )
        parts = ", ".join(
            f"{reason} {count(n)} ({share(n / invalid)})"
            for reason, n in reasons.most_common()
            if n
        )
        evidence.append(Evidence.note(f"Why {name}'s traffic was invalid", parts))
    site_names = [s[0] for s in flagged]
    return Finding(
        FindingKind.INVALID_TRAFFIC,
        Severity.WARNING,
        "Some sites send a lot of invalid traffic",
        f"On {names(site_names)}, more than {share(th.ivt_ceiling)} of the ad views came from "
        "bots, prefetching browsers, duplicates or other traffic that isn't a real person "
        "looking at the page. You are not charged for these views, but a site with this much "
        "of it is a poor place for your ads, and its real numbers are less trustworthy.",
        tuple(evidence),
        f"Exclude {names(site_names)} from the campaign. If you run the network, raise it with "
        "the publisher.",
        tuple(site_names),
    )
