"""Findings about what can be read at all: the wrong yardstick, or too little data.

Objective mismatch: an awareness campaign buys exposure, so it is judged on reach, frequency,
cost per thousand and viewability, not on CTR. When its CTR is being read, or is low, an
info finding says that a low CTR is expected and not a problem.

Insufficient data: under `min_impressions` nothing is read; above it, when the CTR's Wilson
interval still straddles the benchmark, the finding says how many more impressions at the
current CTR would settle it (`benchmarks.verdict`).
"""

from __future__ import annotations

from backbeat.analytics.benchmarks import Position, Verdict
from backbeat.analytics.diagnosis.finding import (
    Evidence,
    Finding,
    FindingKind,
    Severity,
    Thresholds,
)
from backbeat.analytics.diagnosis.wording import count, typical
from backbeat.analytics.inputs import CampaignFacts
from backbeat.domain.money import ecpm


def objective_mismatch(facts: CampaignFacts, v: Verdict | None, th: Thresholds) -> Finding:
    """Info: CTR is the wrong yardstick for an awareness campaign."""
    evidence = [Evidence.rate("CTR", facts.clicks, facts.impressions, th.confidence)]
    if facts.reach:
        evidence.append(Evidence.note("Reach (different people)", count(facts.reach), facts.reach))
        freq = facts.impressions / facts.reach
        evidence.append(Evidence.note("Frequency (views per person)", f"{freq:.2f}", freq))
    cpm = ecpm(facts.spend_micros, facts.impressions)
    if cpm is not None:
        evidence.append(Evidence.note("Cost per 1,000 impressions", f"${cpm:.2f}", float(cpm)))
    if facts.measured:
        evidence.append(Evidence.rate("Viewability", facts.viewable, facts.measured, th.confidence))
    low = v is not None and v.outcome is Position.BELOW
    opening = f"{v.sentence} That is not a problem here: t" if low and v is not None else "T"
    return Finding(
        FindingKind.OBJECTIVE_MISMATCH,
        Severity.INFO,
        "A low click rate is normal for an awareness campaign",
        f"{opening}his campaign's goal is awareness: putting your music in front of as many of "
        "the right people as possible. People see these ads without being asked to act, so "
        "few click, and that is expected. Judge it instead by reach (how many different people "
        "saw it), frequency (how often each saw it), the cost per 1,000 impressions, and "
        "viewability (the share of ads that were actually on screen).",
        tuple(evidence),
        "Read the awareness scorecard rather than the CTR. If you want clicks, run a separate "
        "traffic campaign with its own budget.",
    )


def insufficient_data(
    facts: CampaignFacts, v: Verdict | None, th: Thresholds, *, reads_ctr: bool
) -> Finding | None:
    """Info: too few impressions to read anything, or to place the CTR against its benchmark."""
    evidence = [Evidence.note("Impressions so far", count(facts.impressions), facts.impressions)]
    if facts.impressions < th.min_impressions:
        more = th.min_impressions - facts.impressions
        if v is not None and v.more_impressions_needed and reads_ctr:
            more = max(more, v.more_impressions_needed)
        if facts.impressions:
            evidence.append(
                Evidence.rate("CTR so far", facts.clicks, facts.impressions, th.confidence)
            )
        return Finding(
            FindingKind.INSUFFICIENT_DATA,
            Severity.INFO,
            "Too early to judge this campaign",
            f"The campaign has {count(facts.impressions)} impressions. With so few, a click "
            "or two either way swings every rate, so we read nothing into them yet.",
            (*evidence, Evidence.note("More impressions needed", f"about {count(more)}", more)),
            f"Let it run: after about {count(more)} more impressions we can start telling you "
            "what works.",
        )
    if not reads_ctr or v is None or v.outcome is not Position.NOT_ENOUGH_DATA:
        return None
    evidence.append(Evidence.rate("CTR so far", facts.clicks, facts.impressions, th.confidence))
    needed = v.more_impressions_needed
    if needed is None:
        return Finding(
            FindingKind.INSUFFICIENT_DATA,
            Severity.INFO,
            "Your click rate sits right at the edge of the typical range",
            f"{v.sentence} It is neither clearly low nor clearly high.",
            tuple(evidence),
            "Nothing to fix on CTR alone; look at the other findings and the scorecard.",
        )
    band = typical(v.benchmark.low, v.benchmark.high)
    return Finding(
        FindingKind.INSUFFICIENT_DATA,
        Severity.INFO,
        "Not enough impressions yet to compare your click rate",
        f"{v.sentence} The range is the span of true click rates that fit your numbers so "
        f"far; until it lies wholly below, inside or above the typical {band} we can't say "
        "whether your click rate is good.",
        (*evidence, Evidence.note("More impressions needed", f"about {count(needed)}", needed)),
        f"Keep the campaign running; check again after about {count(needed)} more impressions.",
    )
