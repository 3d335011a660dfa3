"""Pacing: is the budget being spent at the pace the flight needs?

pace = (share of budget spent) / (share of flight elapsed). Even delivery gives 1. Under
`1 - pacing_tolerance` is under-delivery, over `1 + pacing_tolerance` over-delivery (only
for even pacing: an ASAP campaign is meant to run ahead). Nothing is said in the first
`pacing_min_elapsed` of the flight, when a slow start is normal, unless the whole budget is
already gone. At the current pace the flight ends having spent spend / elapsed share (capped
at the budget, which the server never exceeds); an over-paced budget runs out at
start + flight x (elapsed share / spent share). After the flight, unspent budget over the
tolerance is reported as under-delivery. Pace below 0.5 or above 1.5 is critical.
(Spotify Ad Studio states pacing the other way round, days remaining over budget remaining;
the reading is the same.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from backbeat.analytics.diagnosis.finding import (
    Evidence,
    Finding,
    FindingKind,
    Severity,
    Thresholds,
)
from backbeat.analytics.diagnosis.wording import money, share
from backbeat.analytics.inputs import CampaignFacts
from backbeat.domain.campaign import Pacing
from backbeat.errors import ValidationFailed

CRITICAL_LOW = Fraction(1, 2)
CRITICAL_HIGH = Fraction(3, 2)
_TICK = timedelta(microseconds=1)


def elapsed_share(start: datetime, end: datetime, now: datetime) -> Fraction:
    """How much of the flight has passed at `now`, clipped to [0, 1], exactly."""
    total = (end - start) // _TICK
    done = (min(max(now, start), end) - start) // _TICK
    return Fraction(done, total)


def pacing(facts: CampaignFacts, now: datetime, th: Thresholds) -> Finding | None:
    """An under- or over-delivery finding, or None when spend is on pace."""
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValidationFailed.one("now", "must be a datetime with a UTC offset")
    if now <= facts.start:
        return None
    elapsed = elapsed_share(facts.start, facts.end, now)
    spent = Fraction(facts.spend_micros, facts.budget_micros)
    tol = Fraction(th.pacing_tolerance)
    evidence = [
        Evidence.note("Flight elapsed", share(float(elapsed)), float(elapsed)),
        Evidence.note(
            "Budget spent",
            f"{money(facts.spend_micros)} of {money(facts.budget_micros)} ({share(float(spent))})",
            float(spent),
        ),
    ]
    if elapsed == 1:
        if spent >= 1 - tol:
            return None
        unspent = facts.budget_micros - facts.spend_micros
        return Finding(
            FindingKind.UNDER_DELIVERY,
            Severity.WARNING if spent < CRITICAL_LOW else Severity.INFO,
            "The flight ended with budget left over",
            f"The campaign finished having spent {share(float(spent))} of its budget; "
            f"{money(unspent)} was not used. It could not find enough people to show the ad to "
            "at your price.",
            tuple(evidence),
            "Next time, widen targeting (more genres, sites or countries), raise the bid, or "
            "plan a smaller budget for this audience.",
        )
    early = elapsed < Fraction(th.pacing_min_elapsed)
    if early and spent < 1:
        return None
    pace = spent / elapsed
    evidence.append(Evidence.note("Pace (1.00 is on schedule)", f"{float(pace):.2f}", float(pace)))
    if pace < 1 - tol:
        projected = int(facts.spend_micros / elapsed)
        evidence.append(Evidence.note("Projected spend by the end", money(projected), projected))
        return Finding(
            FindingKind.UNDER_DELIVERY,
            Severity.CRITICAL if pace < CRITICAL_LOW else Severity.WARNING,
            "Your budget is being spent too slowly",
            f"{share(float(elapsed))} of the flight has passed but only {share(float(spent))} of "
            f"the budget is spent. At this pace the campaign ends having spent about "
            f"{money(projected)} of {money(facts.budget_micros)}: the ad isn't winning enough "
            "of the space it could be shown in.",
            tuple(evidence),
            "Raise your bid (others are paying more for the same space), widen targeting to "
            "more sites, genres or countries, or check that your creatives are approved and "
            "fit the sizes the sites sell.",
        )
    if pace > 1 + tol and facts.pacing is Pacing.EVEN:
        flight = (facts.end - facts.start) // _TICK
        runs_out = facts.start + _TICK * int(flight * min(Fraction(1), elapsed / spent))
        when = runs_out.astimezone(ZoneInfo(facts.timezone)).strftime("%Y-%m-%d %H:%M %Z")
        gone = spent >= 1
        evidence.append(Evidence.note("Budget ran out" if gone else "Budget runs out around", when))
        story = (
            f"The whole budget was spent by about {when}, with {share(float(1 - elapsed))} "
            "of the flight still to go, so the ad has stopped showing."
            if gone
            else f"Only {share(float(elapsed))} of the flight has passed but "
            f"{share(float(spent))} of the budget is already spent. At this pace the money "
            f"runs out around {when}, before the flight ends on {facts.end:%Y-%m-%d}, and the "
            "ad then stops showing."
        )
        return Finding(
            FindingKind.OVER_DELIVERY,
            Severity.CRITICAL if pace > CRITICAL_HIGH else Severity.WARNING,
            "Your budget ran out early" if gone else "Your budget is being spent too fast",
            story,
            tuple(evidence),
            "Set a daily budget, or lower the bid a little, so the ad keeps running to the end "
            "of the flight. If finishing early is fine (a release-day push), switch pacing to "
            "“as fast as possible” and ignore this.",
        )
    return None
