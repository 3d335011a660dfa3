"""One campaign's report as the campaign page shows it: headline figures for the flight so
far, three charts over the chosen period (delivery, CTR with its 95% band against the
benchmark band, spend against the even pacing plan) each with a table below, breakdowns
with viewability, findings, the creative A/B panel, the scorecard and trends.

Everything comes from :meth:`ReportService.campaign_report` except viewability per
breakdown line, which the report does not carry: :func:`breakdown_viewability` asks the
report runner for it, over the same period and scope as the breakdowns.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from backbeat.analytics import campaign_report as cr
from backbeat.analytics import report_json as rj
from backbeat.analytics.benchmarks import benchmark_for
from backbeat.analytics.benchmarks_data import Benchmark
from backbeat.analytics.diagnosis import DEFAULT_THRESHOLDS, Finding
from backbeat.analytics.diagnosis.objective import objective_mismatch
from backbeat.analytics.diagnosis.wording import p_text
from backbeat.analytics.dimensions import Dimension, FilterValue
from backbeat.analytics.metrics import Base, Metric
from backbeat.analytics.query import Filter, Query
from backbeat.analytics.runner import ReportSource, run
from backbeat.analytics.service import CampaignReport
from backbeat.domain.campaign import Objective
from backbeat.web.dashboard.report_view import (
    Chart,
    Series,
    amount,
    money_text,
    percent_of,
    period_text,
    rate_view,
    share_text,
)

Rate = cr.Rate
Viewability = dict[Dimension, dict[FilterValue | None, Rate]]


def breakdown_viewability(store: ReportSource, report: CampaignReport) -> Viewability:
    """Viewable impressions out of impressions for every line of every breakdown."""
    c, p = report.campaign, report.period
    out: Viewability = {}
    for dim, _ in cr.BREAKDOWNS:
        q = Query(
            start=p.start, end=p.end, timezone=p.timezone, metrics=(Metric.VIEWABILITY_RATE,),
            dimensions=(dim,), filters=(Filter(Dimension.CAMPAIGN, frozenset({c.id or 0})),),
        ).scoped(advertiser_id=c.advertiser_id)  # fmt: skip
        out[dim] = {
            r.dimensions[0]: Rate(r.aggregates.get(Base.VIEWABLE, 0),
                                  r.aggregates.get(Base.IMPRESSIONS, 0))
            for r in run(q, store).rows
        }  # fmt: skip
    return out


def ctr_benchmark(report: CampaignReport) -> Benchmark | None:
    if report.verdict is not None:
        return report.verdict.benchmark
    return benchmark_for(report.facts.benchmark_name, "ctr")


def _plain(rate: Decimal) -> str:
    """A benchmark rate as a short percentage: Decimal('0.005') -> '0.5'."""
    return f"{(rate * 100).normalize():f}"


# --- charts ------------------------------------------------------------------------------


def _delivery_chart(report: CampaignReport) -> Chart:
    s = report.series
    imps = sum(p.impressions for p in s)
    clicks = sum(p.clicks for p in s)
    busiest = max(s, key=lambda p: p.impressions)
    summary = (
        f"{imps:,} impressions and {clicks:,} clicks over {period_text(report.period)}; the "
        f"busiest day was {busiest.day.isoformat()} with {busiest.impressions:,} impressions."
    )
    return Chart(
        "chart-delivery", "Impressions and clicks per day",
        "Bar chart of impressions per day with a line of clicks per day",
        summary, [p.day.isoformat() for p in s],
        [Series("Impressions", [p.impressions for p in s], "bar"),
         Series("Clicks", [p.clicks for p in s], "line", axis="y2")],
        unit="count", unit2="count", titles=("Impressions", "Clicks"),
    )  # fmt: skip


def _ctr_chart(report: CampaignReport, bench: Benchmark | None) -> Chart:
    s = report.series
    rates = [rj.rate(p.ctr) for p in s]
    total = Rate(sum(p.clicks for p in s), sum(p.impressions for p in s))
    series = [
        Series("95% range, low", [r["low"] for r in rates], "band-low"),
        Series("95% range, high", [r["high"] for r in rates], "band-high", fill="-1"),
        Series("CTR", [r["percent"] for r in rates], "line"),
    ]
    summary = (
        f"CTR over the period: {rate_view(total).full}. The shaded area is each day's 95% range."
    )
    if bench is not None:
        low = percent_of(Fraction(bench.low))
        series.append(Series(f"Typical for {bench.label}, low", [low] * len(s), "ref"))
        if bench.high is not None and bench.high != bench.low:
            high = percent_of(Fraction(bench.high))
            series.append(Series(f"Typical for {bench.label}, high", [high] * len(s), "ref",
                                 fill="-1"))  # fmt: skip
            summary += (
                f" Dashed lines: the {_plain(bench.low)}–{_plain(bench.high)}% typical for "
                f"{bench.label}."
            )
        else:
            summary += f" Dashed line: the {_plain(bench.low)}% typical for {bench.label}."
    return Chart(
        "chart-ctr", "Click-through rate per day, with its 95% range and the benchmark",
        "Line chart of the daily click-through rate with a shaded 95% confidence band and the "
        "benchmark range as dashed lines",
        summary, [p.day.isoformat() for p in s], series, unit="percent", titles=("CTR", None),
    )  # fmt: skip


def _spend_chart(report: CampaignReport, currency: str) -> Chart:
    s = report.series
    last = s[-1]
    summary = (
        f"By {last.day.isoformat()} the campaign had spent "
        f"{money_text(last.cumulative_spend_micros, currency)} against "
        f"{money_text(last.planned_spend_micros, currency)} planned by even pacing "
        f"({share_text(last.cumulative_spend_micros, last.planned_spend_micros)} of plan), of a "
        f"{money_text(report.campaign.budget_total_micros, currency)} budget."
    )
    return Chart(
        "chart-spend", "Spend so far against the pacing plan",
        "Line chart of cumulative spend against the even pacing plan",
        summary, [p.day.isoformat() for p in s],
        [Series("Spent so far", [amount(p.cumulative_spend_micros) for p in s], "line"),
         Series("Even pacing plan", [amount(p.planned_spend_micros) for p in s], "ref")],
        unit="money", currency=currency, titles=("Spend", None),
    )  # fmt: skip


def charts(report: CampaignReport, currency: str) -> list[Chart]:
    """The three charts over the report's period (none when the period has no days)."""
    if not report.series:
        return []
    bench = ctr_benchmark(report)
    return [_delivery_chart(report), _ctr_chart(report, bench), _spend_chart(report, currency)]


# --- tables and cards --------------------------------------------------------------------


def days(report: CampaignReport, currency: str) -> list[dict[str, Any]]:
    return [
        {"day": p.day.isoformat(), "impressions": p.impressions, "clicks": p.clicks,
         "ctr": rate_view(p.ctr), "spend": money_text(p.spend_micros, currency),
         "cumulative": money_text(p.cumulative_spend_micros, currency),
         "planned": money_text(p.planned_spend_micros, currency)}
        for p in report.series
    ]  # fmt: skip


def breakdowns(report: CampaignReport, views: Viewability, currency: str) -> list[dict[str, Any]]:
    out = []
    for b in report.breakdowns:
        seen = views.get(b.dimension, {})
        rows = [
            {"label": ln.label, "impressions": ln.impressions, "clicks": ln.clicks,
             "ctr": rate_view(ln.ctr), "spend": money_text(ln.spend_micros, currency),
             "viewability": rate_view(seen.get(ln.key, Rate(0, ln.impressions)))}
            for ln in b.lines
        ]  # fmt: skip
        out.append({"id": f"by-{b.dimension.value.replace('_', '-')}", "title": b.title,
                    "column": b.title[3:].capitalize(), "rows": rows})  # fmt: skip
    return out


def finding(f: Finding) -> dict[str, Any]:
    return {
        "severity": f.severity.value,
        "title": f.title,
        "explanation": f.explanation,
        "evidence": [(e.label, e.text) for e in f.evidence],
        "action": f.action,
        "subjects": list(f.subjects),
    }


def ab_rows(report: CampaignReport) -> list[dict[str, Any]]:
    rows = []
    for ln in report.ab.lines:
        loss = rj.percent(ln.expected_loss)
        needed = ln.more_impressions_needed
        rows.append({
            "name": ln.name, "best": ln.is_best, "impressions": ln.impressions,
            "clicks": ln.clicks, "ctr": rate_view(ln.ctr),
            "p": "" if ln.p_value is None else p_text(ln.p_value),
            "beats": "" if ln.prob_beats_best is None else f"{ln.prob_beats_best:.1%}",
            "loss": "" if loss is None else f"{loss} points",
            "needed": "" if ln.is_best else ("n/a" if needed is None else f"{needed:,}"),
        })  # fmt: skip
    return rows


def scorecard_rows(report: CampaignReport) -> list[dict[str, Any]]:
    return [
        {"metric": ln.metric, "text": ln.text, "verdict": None if ln.verdict is None
         else ln.verdict.value, "verdict_text": ln.verdict_text or "", "good": ln.good}
        for ln in report.scorecard.lines
    ]  # fmt: skip


def trend_lines(report: CampaignReport) -> list[str]:
    t = report.trends
    lines = [t.direction.sentence]
    if t.week_over_week is not None:
        lines.insert(0, "Week over week: " + t.week_over_week.sentence)
    for name, week in (("CTR", t.best_week_by_ctr), ("clicks", t.best_week_by_clicks)):
        if week is not None:
            lines.append(
                f"Best week by {name}: {week.first.isoformat()} to {week.last.isoformat()}, "
                f"{week.clicks:,} clicks of {week.impressions:,} impressions, CTR "
                f"{rate_view(Rate(week.clicks, week.impressions)).full}."
            )
    return lines


def headline(report: CampaignReport, currency: str) -> dict[str, Any]:
    """The flight-to-date figures at the top of the page."""
    f, c = report.facts, report.campaign
    v = report.verdict
    note = None
    if c.objective is Objective.AWARENESS:
        note = finding(objective_mismatch(f, v, DEFAULT_THRESHOLDS))
    return {
        "impressions": f.impressions,
        "clicks": f.clicks,
        "ctr": rate_view(Rate(f.clicks, f.impressions)),
        "reach": f.reach,
        "frequency": None if not f.reach else f"{f.impressions / f.reach:.2f}",
        "spend": money_text(f.spend_micros, currency),
        "budget": money_text(c.budget_total_micros, currency),
        "spend_micros": min(f.spend_micros, c.budget_total_micros),
        "budget_micros": c.budget_total_micros,
        "budget_used": share_text(f.spend_micros, c.budget_total_micros),
        "viewability": rate_view(Rate(f.viewable, f.measured)),
        "verdict": None if v is None else {"outcome": v.outcome.value, "sentence": v.sentence,
                                           "source": v.source},
        "awareness_note": note,
    }  # fmt: skip


def report_data(report: CampaignReport, views: Viewability) -> dict[str, Any]:
    """The report's JSON (the API's shape), each breakdown line with its viewability."""
    data = rj.campaign_report(report)
    for b in data["breakdowns"]:
        seen: Mapping[FilterValue | None, Rate] = views.get(Dimension(b["dimension"]), {})
        for ln in b["lines"]:
            ln["viewability"] = rj.rate(seen.get(ln["key"], Rate(0, ln["impressions"])))
    return data
