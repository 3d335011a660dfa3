"""The scorecard: the few numbers that say whether a campaign did its job, by objective.

- Awareness buys exposure: reach, frequency, eCPM (cost per 1,000 impressions), viewability.
- Traffic buys clicks: CTR against its benchmark, CPC (cost per click), clicks.
- Retargeting buys action from people who already engaged: CTR, conversions, cost per
  conversion.

Each line has the value, its Wilson interval when it is a rate, a verdict where a yardstick
exists (CTR and CPM benchmarks from `benchmarks`; the IAB's 70% goal for viewability) and what
good looks like, in plain words. Money is shown in US dollars, as the benchmarks are.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backbeat.analytics.benchmarks import (
    Metric,
    Position,
    benchmark_for,
    cpm_position,
    verdict,
)
from backbeat.analytics.diagnosis.wording import count, interval_text, share
from backbeat.analytics.inputs import CampaignFacts
from backbeat.analytics.stats import Interval, position, wilson_interval
from backbeat.domain.campaign import Objective
from backbeat.domain.money import MICROS, ecpm
from backbeat.errors import NotFound, ValidationFailed

VIEWABILITY_GOAL = Decimal("0.70")  # IAB, "State of Viewability Transaction 2015"
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class ScoreLine:
    """One metric on the scorecard. `value` is None when it cannot be computed (no data)."""

    metric: str
    text: str
    value: Decimal | float | int | None
    interval: Interval | None
    verdict: Position | None
    verdict_text: str | None
    good: str


@dataclass(frozen=True)
class Scorecard:
    campaign_id: int
    objective: Objective
    lines: tuple[ScoreLine, ...]

    def line(self, metric: str) -> ScoreLine:
        for ln in self.lines:
            if ln.metric == metric:
                return ln
        raise NotFound("scorecard line", metric)


def _dollars(amount: Decimal | None) -> str:
    return "no data" if amount is None else f"${amount.quantize(_CENT):,}"


def _per(spend_micros: int, units: int | None) -> Decimal | None:
    if not units:
        return None
    return Decimal(spend_micros) / MICROS / units


def _reach(f: CampaignFacts) -> ScoreLine:
    return ScoreLine(
        "Reach",
        "not measured" if f.reach is None else f"{count(f.reach)} people",
        f.reach,
        None,
        None,
        None,
        "As many different people as the budget allows. Reach grows fast at first, then "
        "slowly as the same people come back; daily reach never adds up across days.",
    )


def _frequency(f: CampaignFacts) -> ScoreLine:
    value = f.impressions / f.reach if f.reach else None
    return ScoreLine(
        "Frequency",
        "not measured" if value is None else f"{value:.2f} views per person",
        value,
        None,
        None,
        None,
        "A few views per person: about 3 to 5 a day builds recall for awareness; far more "
        "and people tune out (see the frequency-fatigue finding).",
    )


def _ecpm(f: CampaignFacts) -> ScoreLine:
    cpm = ecpm(f.spend_micros, f.impressions)
    bench = benchmark_for(f.benchmark_name, Metric.CPM)
    where = pos_text = None
    good = "Lower is better for the same audience and viewability."
    if bench is not None:
        typical = f"${bench.low}" + (f"–${bench.high}" if bench.high else "+")
        good += f" Typical for {bench.label}: {typical} ({bench.citation})."
        if cpm is not None:
            where = cpm_position(cpm, bench)
            pos_text = {
                Position.BELOW: f"cheaper than the typical {typical}",
                Position.WITHIN: f"within the typical {typical}",
                Position.ABOVE: f"dearer than the typical {typical}",
            }[where]
    return ScoreLine("eCPM", _dollars(cpm), cpm, None, where, pos_text, good)


def _viewability(f: CampaignFacts) -> ScoreLine:
    if not f.measured:
        return ScoreLine("Viewability", "not measured", None, None, None, None, _VIEW_GOOD)
    ci = wilson_interval(f.viewable, f.measured)
    where = position(ci, VIEWABILITY_GOAL, None)
    goal = share(float(VIEWABILITY_GOAL))
    pos_text = {
        Position.BELOW: f"below the IAB's {goal} goal",
        Position.WITHIN: f"meets the IAB's {goal} goal",
        Position.ABOVE: f"above the IAB's {goal} goal",
        Position.NOT_ENOUGH_DATA: f"too close to the {goal} goal to call yet",
    }[where]
    return ScoreLine("Viewability", interval_text(ci), ci.point, ci, where, pos_text, _VIEW_GOOD)


_VIEW_GOOD = (
    "Most ads actually on screen: an ad counts as viewable when half of it is in view for a "
    "second (two for video). The IAB asks for 70% of measured ads to be viewable."
)


def _ctr(f: CampaignFacts) -> ScoreLine:
    ci = wilson_interval(f.clicks, f.impressions)
    bench = benchmark_for(f.benchmark_name, Metric.CTR)
    good = "The share of people who click after seeing the ad; higher is better."
    if bench is None or f.impressions == 0:
        return ScoreLine("CTR", interval_text(ci), ci.point, ci, None, None, good)
    v = verdict(f.clicks, f.impressions, bench)
    return ScoreLine(
        "CTR", interval_text(ci), ci.point, ci, v.outcome, v.sentence, good + f" {v.source}."
    )


def _cpc(f: CampaignFacts) -> ScoreLine:
    cpc = _per(f.spend_micros, f.clicks)
    good = "Lower is better: each click is one person on your link."
    ctr_b = benchmark_for(f.benchmark_name, Metric.CTR)
    cpm_b = benchmark_for(f.benchmark_name, Metric.CPM)
    if ctr_b is not None and cpm_b is not None and ctr_b.high is not None:
        # A typical CPM bought at a typical CTR gives the typical cost of a click.
        cheap = cpm_b.low / 1000 / ctr_b.high
        dear = cpm_b.low / 1000 / ctr_b.low
        good += (
            f" At the typical ${cpm_b.low} CPM and {share(float(ctr_b.low))}–"
            f"{share(float(ctr_b.high))} CTR, a click costs {_dollars(cheap)}–{_dollars(dear)}."
        )
    return ScoreLine("CPC", _dollars(cpc), cpc, None, None, None, good)


def _clicks(f: CampaignFacts) -> ScoreLine:
    return ScoreLine(
        "Clicks",
        count(f.clicks),
        f.clicks,
        None,
        None,
        None,
        "Enough clicks for the budget: the planner's forecast range is the yardstick.",
    )


def _conversions(f: CampaignFacts) -> ScoreLine:
    good = "People who did what you asked (a pre-save, a ticket, a sign-up) after the ad."
    if f.conversions is None:
        return ScoreLine("Conversions", "not measured", None, None, None, None, good)
    text = count(f.conversions)
    ci = None
    if f.clicks and f.conversions <= f.clicks:
        ci = wilson_interval(f.conversions, f.clicks)
        text += f"; {interval_text(ci)} of clicks"
    return ScoreLine("Conversions", text, f.conversions, ci, None, None, good)


def _cost_per_conversion(f: CampaignFacts) -> ScoreLine:
    cost = _per(f.spend_micros, f.conversions)
    return ScoreLine(
        "Cost per conversion",
        _dollars(cost),
        cost,
        None,
        None,
        None,
        "Lower is better; worth it while a conversion is worth more to you than it costs.",
    )


def scorecard(facts: CampaignFacts) -> Scorecard:
    """The scorecard for the campaign's objective (see the module docstring)."""
    if not isinstance(facts, CampaignFacts):
        raise ValidationFailed.one("facts", "must be CampaignFacts")
    lines: tuple[ScoreLine, ...]
    if facts.objective is Objective.AWARENESS:
        lines = (_reach(facts), _frequency(facts), _ecpm(facts), _viewability(facts))
    elif facts.objective is Objective.TRAFFIC:
        lines = (_ctr(facts), _cpc(facts), _clicks(facts))
    else:
        lines = (_ctr(facts), _conversions(facts), _cost_per_conversion(facts))
    return Scorecard(facts.campaign_id, facts.objective, lines)
