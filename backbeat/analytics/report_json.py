"""Service results as plain JSON-ready data: the one shape the API, the JSON export, the
HTML export and the CLI's ``--format json`` share.

Numbers follow :mod:`backbeat.analytics.result`: counts are integers; money is a decimal
string in currency units with 6 places (micros), ``"85.000000"``; rates are strings of the
*percentage* with 4 places, ``"1.5000"`` for a CTR of 1.5%, and so are their Wilson 95%
bounds. A rate is ``{"successes", "trials", "percent", "low", "high"}`` with ``percent``
null when there are no trials. Statistics that are not rates (z, p-values, probabilities)
are plain JSON numbers.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

from backbeat.analytics.benchmarks import Verdict
from backbeat.analytics.campaign_report import ABLine, Breakdown, Rate, TrendsBundle
from backbeat.analytics.diagnosis import Finding
from backbeat.analytics.inputs import CampaignFacts
from backbeat.analytics.metrics import Metric
from backbeat.analytics.planner import Range
from backbeat.analytics.result import render
from backbeat.analytics.scorecard import Scorecard
from backbeat.analytics.service import (
    CampaignOverview,
    CampaignReport,
    Diagnosis,
    IvtReport,
    NetworkOverview,
    Period,
    PlanOutcome,
    PublisherEarnings,
)
from backbeat.analytics.stats import Interval
from backbeat.analytics.trends import PeriodTotals
from backbeat.domain.campaign import Campaign

VERSION = 1
Json = dict[str, Any]


def money(micros: int | Fraction | None) -> str | None:
    """Micros (or an exact fraction of them) as a currency amount with 6 places."""
    rendered = render(Metric.SPEND, micros)
    return None if rendered is None else str(rendered)


def percent(rate: Fraction | float | None) -> str | None:
    """A rate in [0, 1] as a percentage string with 4 places."""
    if rate is None:
        return None
    if isinstance(rate, Fraction):
        return str(render(Metric.CTR, rate))
    return f"{rate * 100:.4f}"


def interval(ci: Interval | None) -> Json | None:
    if ci is None:
        return None
    return {"low": percent(ci.low), "high": percent(ci.high), "confidence": ci.confidence}


def rate(r: Rate) -> Json:
    ci = r.interval
    return {
        "successes": r.successes,
        "trials": r.trials,
        "percent": percent(r.value),
        "low": percent(ci.low) if r.trials else None,
        "high": percent(ci.high) if r.trials else None,
    }


def period(p: Period) -> Json:
    return {"start": p.start.isoformat(), "end": p.end.isoformat(), "timezone": p.timezone}


def verdict(v: Verdict | None) -> Json | None:
    if v is None:
        return None
    b = v.benchmark
    return {
        "outcome": v.outcome.value,
        "sentence": v.sentence,
        "more_impressions_needed": v.more_impressions_needed,
        "benchmark": {
            "key": b.key,
            "label": b.label,
            "low": percent(float(b.low)),
            "high": None if b.high is None else percent(float(b.high)),
            "source": b.citation,
            "quality": b.quality,
        },
    }


def finding(f: Finding) -> Json:
    return {
        "kind": f.kind.value,
        "severity": f.severity.value,
        "title": f.title,
        "explanation": f.explanation,
        "evidence": [
            {
                "label": e.label,
                "text": e.text,
                "value": e.value,
                "interval": interval(e.interval),
            }
            for e in f.evidence
        ],
        "action": f.action,
        "subjects": list(f.subjects),
    }


def campaign(c: Campaign) -> Json:
    return {
        "id": c.id,
        "advertiser_id": c.advertiser_id,
        "name": c.name,
        "status": c.status.value,
        "objective": c.objective.value,
        "pricing": c.pricing.value,
        "bid": money(c.bid_micros),
        "budget_total": money(c.budget_total_micros),
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "timezone": c.timezone,
        "pacing": c.pacing.value,
    }


def facts(f: CampaignFacts) -> Json:
    """The flight-to-date totals diagnosis read (not every breakdown: see the report)."""
    return {
        "format": f.format.value,
        "impressions": f.impressions,
        "clicks": f.clicks,
        "ctr": rate(Rate(f.clicks, f.impressions)),
        "spend": money(f.spend_micros),
        "budget_used": percent(Fraction(f.spend_micros, f.budget_micros)),
        "reach": f.reach,
        "frequency": None if not f.reach else f"{f.impressions / f.reach:.4f}",
        "viewability": rate(Rate(f.viewable, f.measured)),
        "conversions": f.conversions,
        "frequency_buckets": [
            {"exposure": b.exposure, "and_more": b.and_more, "ctr": rate(Rate(b.clicks,
                                                                           b.impressions))}
            for b in f.frequency
        ],
    }  # fmt: skip


def _scalar(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    return value


def scorecard(s: Scorecard) -> Json:
    return {
        "objective": s.objective.value,
        "lines": [
            {
                "metric": ln.metric,
                "text": ln.text,
                "value": _scalar(ln.value),
                "interval": interval(ln.interval),
                "verdict": None if ln.verdict is None else ln.verdict.value,
                "verdict_text": ln.verdict_text,
                "good": ln.good,
            }
            for ln in s.lines
        ],
    }


def _week(w: PeriodTotals | None) -> Json | None:
    if w is None:
        return None
    return {
        "first": w.first.isoformat(),
        "last": w.last.isoformat(),
        "impressions": w.impressions,
        "clicks": w.clicks,
        "ctr": rate(Rate(w.clicks, w.impressions)),
        "spend": money(w.spend_micros),
    }


def trends(t: TrendsBundle) -> Json:
    wow = t.week_over_week
    return {
        "week_over_week": None
        if wow is None
        else {
            "before": _week(wow.before),
            "after": _week(wow.after),
            "trend": wow.change.trend.value,
            "relative_change": percent(wow.change.relative_change),
            "p_value": wow.change.p_value,
            "sentence": wow.sentence,
        },
        "best_week_by_ctr": _week(t.best_week_by_ctr),
        "best_week_by_clicks": _week(t.best_week_by_clicks),
        "direction": {
            "direction": t.direction.direction.value,
            "weeks_used": t.direction.weeks_used,
            "z": t.direction.z,
            "p_value": t.direction.p_value,
            "sentence": t.direction.sentence,
        },
    }


def _ab_line(ln: ABLine) -> Json:
    return {
        "creative_id": ln.creative_id,
        "name": ln.name,
        "is_best": ln.is_best,
        "impressions": ln.impressions,
        "clicks": ln.clicks,
        "ctr": rate(ln.ctr),
        "z": ln.z,
        "p_value": ln.p_value,
        "prob_beats_best": ln.prob_beats_best,
        "expected_loss": percent(ln.expected_loss),
        "more_impressions_needed": ln.more_impressions_needed,
    }


def breakdown(b: Breakdown) -> Json:
    return {
        "dimension": b.dimension.value,
        "title": b.title,
        "lines": [
            {
                "key": ln.key,
                "label": ln.label,
                "impressions": ln.impressions,
                "clicks": ln.clicks,
                "ctr": rate(ln.ctr),
                "spend": money(ln.spend_micros),
                "reach": ln.reach,
            }
            for ln in b.lines
        ],
    }


def campaign_report(r: CampaignReport) -> Json:
    """The full report of one campaign."""
    return {
        "version": VERSION,
        "generated_at": r.generated_at.isoformat(),
        "campaign": campaign(r.campaign),
        "period": period(r.period),
        "flight_to_date": facts(r.facts),
        "verdict": verdict(r.verdict),
        "series": [
            {
                "day": p.day.isoformat(),
                "impressions": p.impressions,
                "clicks": p.clicks,
                "ctr": rate(p.ctr),
                "spend": money(p.spend_micros),
                "cumulative_spend": money(p.cumulative_spend_micros),
                "planned_spend": money(p.planned_spend_micros),
            }
            for p in r.series
        ],
        "breakdowns": [breakdown(b) for b in r.breakdowns],
        "findings": [finding(f) for f in r.findings],
        "ab": {
            "best": None if r.ab.best is None else r.ab.best.creative_id,
            "lines": [_ab_line(ln) for ln in r.ab.lines],
        },
        "scorecard": scorecard(r.scorecard),
        "trends": trends(r.trends),
    }


def diagnosis(d: Diagnosis) -> Json:
    return {
        "version": VERSION,
        "generated_at": d.generated_at.isoformat(),
        "campaign": campaign(d.campaign),
        "flight_to_date": facts(d.facts),
        "findings": [finding(f) for f in d.findings],
    }


def campaign_overview(o: CampaignOverview) -> Json:
    return {
        "version": VERSION,
        "period": period(o.period),
        "campaigns": [
            {
                **campaign(ln.campaign),
                "format": ln.format.value,
                "impressions": ln.impressions,
                "reach": ln.reach,
                "clicks": ln.clicks,
                "ctr": rate(ln.ctr),
                "spend": money(ln.spend_micros),
                "budget_used": percent(ln.budget_used),
                "verdict": verdict(ln.verdict),
            }
            for ln in o.lines
        ],
    }


def network_overview(n: NetworkOverview) -> Json:
    return {
        "version": VERSION,
        "period": period(n.period),
        "decisions": n.decisions.trials,
        "filled": n.decisions.successes,
        "fill_rate": rate(n.decisions),
        "impressions": n.impressions,
        "clicks": n.clicks,
        "ctr": rate(Rate(min(n.clicks, n.impressions), n.impressions)),
        "revenue": money(n.revenue_micros),
        "publisher_payout": money(n.publisher_payout_micros),
        "margin": money(n.margin_micros),
        "invalid_rate": rate(n.invalid),
    }


def publisher_earnings(e: PublisherEarnings) -> Json:
    return {
        "version": VERSION,
        "publisher": {"id": e.publisher_id, "name": e.name,
                      "revenue_share_pct": e.revenue_share_pct},
        "period": period(e.period),
        "impressions": e.impressions,
        "earnings": money(e.earnings_micros),
        "ecpm": money(e.ecpm),
        "invalid_share": rate(e.invalid),
        "fill_rate": rate(e.fill),
        "sites": [
            {
                "site_id": s.site_id,
                "name": s.name,
                "domain": s.domain,
                "impressions": s.impressions,
                "clicks": s.clicks,
                "billed": money(s.billed_micros),
                "earnings": money(s.earnings_micros),
                "ecpm": money(s.ecpm),
                "invalid_share": rate(s.invalid),
            }
            for s in e.sites
        ],
    }  # fmt: skip


def ivt_report(r: IvtReport) -> Json:
    return {
        "version": VERSION,
        "period": period(r.period),
        "invalid_rate": rate(r.invalid),
        "by_reason": [{"reason": k, "events": n} for k, n in r.by_reason],
        "sites": [
            {"site_id": s.site_id, "name": s.name, "invalid_rate": rate(s.invalid),
             "reasons": s.reasons}
            for s in r.sites
        ],
    }  # fmt: skip


def _range(r: Range) -> Json:
    return {"low": r.low, "high": r.high}


def plan_outcome(p: PlanOutcome) -> Json:
    f = p.forecast
    inv = p.inventory
    return {
        "version": VERSION,
        "pricing": f.pricing.value,
        "inventory": f.inventory,
        "available_daily_impressions": p.available_daily_impressions,
        "unique_visitors_per_day": p.unique_visitors_per_day,
        "measured": None if inv is None else asdict(inv),
        "impressions": _range(f.impressions),
        "clicks": None if f.clicks is None else _range(f.clicks),
        "reach": _range(f.reach),
        "frequency": None if f.frequency is None else [round(x, 4) for x in f.frequency],
        "spend": {"low": money(f.spend_micros.low), "high": money(f.spend_micros.high)},
        "limited_by_inventory": f.limited_by_inventory,
        "ctr_benchmark": None if f.ctr_benchmark is None else f.ctr_benchmark.key,
        "notes": list(f.notes),
        "split": None
        if p.split is None or p.split_micros is None
        else {
            "stage": p.split.stage.value,
            "reasoning": p.split.reasoning,
            "shares": [
                {"objective": s.objective.value, "percent": s.percent, "low": s.low,
                 "high": s.high, "budget": money(p.split_micros[s.objective])}
                for s in p.split.shares
            ],
        },
    }  # fmt: skip
