"""Campaign diagnosis: what is going wrong (or fine) with a campaign, in words an artist can use.

`diagnose(facts, now)` runs every finding family over one campaign's `CampaignFacts` and
returns its findings, most severe first. Each finding carries the numbers behind it, with
their intervals, and a recommended action. Nothing here runs SQL: the query runner maps its
results into `backbeat.analytics.inputs` first.

Families, one module each: `clicks` (high impressions, low clicks, with `creatives` and
`targeting` as causes), `fatigue`, `quality` (viewability, invalid traffic), `pacing`,
`objective` (awareness read by CTR; insufficient data). See docs/analytics.md.
"""

from __future__ import annotations

from datetime import datetime

from backbeat.analytics.diagnosis.clicks import ctr_findings, ctr_verdict
from backbeat.analytics.diagnosis.fatigue import frequency_fatigue
from backbeat.analytics.diagnosis.finding import (
    CTR_CAUSES,
    DEFAULT_THRESHOLDS,
    Evidence,
    Finding,
    FindingKind,
    Severity,
    Thresholds,
    ordered,
)
from backbeat.analytics.diagnosis.objective import insufficient_data
from backbeat.analytics.diagnosis.pacing import pacing
from backbeat.analytics.diagnosis.quality import invalid_traffic, low_viewability
from backbeat.analytics.inputs import CampaignFacts
from backbeat.domain.campaign import Objective
from backbeat.errors import ValidationFailed

__all__ = [
    "CTR_CAUSES",
    "DEFAULT_THRESHOLDS",
    "Evidence",
    "Finding",
    "FindingKind",
    "Severity",
    "Thresholds",
    "diagnose",
]


def diagnose(
    facts: CampaignFacts,
    now: datetime,
    *,
    reading_ctr: bool = False,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[Finding]:
    """Every finding for one campaign at `now`, most severe first.

    `reading_ctr=True` says the artist is looking at CTR (say, on a chart): an awareness
    campaign then always gets the note that CTR is the wrong yardstick for it. Under
    `thresholds.min_impressions` the CTR and frequency families stay silent (the
    insufficient-data finding says so); pacing, viewability and invalid traffic still run,
    each with intervals of its own.
    """
    if not isinstance(facts, CampaignFacts):
        raise ValidationFailed.one("facts", "must be CampaignFacts")
    if not isinstance(thresholds, Thresholds):
        raise ValidationFailed.one("thresholds", "must be Thresholds")
    th = thresholds
    v = ctr_verdict(facts, th)
    reads_ctr = reading_ctr or facts.objective is not Objective.AWARENESS
    findings: list[Finding] = []
    scarce = insufficient_data(facts, v, th, reads_ctr=reads_ctr)
    if scarce is not None:
        findings.append(scarce)
    if facts.impressions >= th.min_impressions:
        findings += ctr_findings(facts, v, th, reading_ctr=reading_ctr)
        fatigue = frequency_fatigue(facts, th)
        if fatigue is not None:
            findings.append(fatigue)
    for extra in (pacing(facts, now, th), low_viewability(facts, th), invalid_traffic(facts, th)):
        if extra is not None:
            findings.append(extra)
    return ordered(findings)
