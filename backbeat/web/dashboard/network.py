"""The operator's pages: the network at a glance (`/network`: fill rate, revenue and
publisher payouts, invalid-traffic rate, top campaigns and sites, a daily chart) and the
invalid-traffic report (`/network/ivt`: invalid events by reason and by site, and the tally
of refused tracking links). Admins only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from backbeat.analytics import report_json as rj
from backbeat.analytics.campaign_report import Rate
from backbeat.analytics.query import zone_for
from backbeat.analytics.runner import ReportSource
from backbeat.analytics.service import (
    CampaignOverview,
    IvtReport,
    NetworkOverview,
    ReportService,
)
from backbeat.domain.accounts import Role
from backbeat.errors import ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.dashboard.base import Viewer, page, render, runtime
from backbeat.web.dashboard.report_queries import (
    DayTotals,
    SiteTotals,
    daily_totals,
    site_totals,
)
from backbeat.web.dashboard.report_view import (
    Chart,
    PeriodChoice,
    Series,
    amount,
    choose_period,
    in_thread,
    money_text,
    period_text,
    rate_view,
    report_service,
)

CHOICES = ("7", "14", "30", "custom")
TOP = 10
REASONS = {
    "bot": "Crawlers, spiders and non-browser clients",
    "duplicate": "A second impression or viewable for the same ad (reloads, replayed links)",
    "no_impression": "A click or viewable with no impression before it",
    "duplicate_click": "A second click on the same ad (only the first counts)",
    "rate": "One visitor sending events faster than a person can",
    "domain_mismatch": "Ad shown on a page outside the publisher's registered site",
    "no_decision": "An event for an ad the server never chose",
    "budget_exhausted": "Events after the campaign's budget ran out",
    "prefetch": "Prefetched or previewed pages nobody opened",
}
REFUSALS = {
    "bad_signature": "The link's signature does not match: forged or altered",
    "expired": "The link is older than its lifetime: stale cached ad markup",
    "malformed": "Not a tracking link at all",
    "too_long": "Longer than any real tracking link",
    "wrong_kind": "A link of one kind (say, a click) used as another",
}


def _today(service: ReportService) -> date:
    return service.clock().astimezone(zone_for(service.timezone)).date()


def _period(request: Request, service: ReportService) -> PeriodChoice:
    return choose_period(request.query_params, _today(service), CHOICES, "30")


# --- the network overview ----------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    overview: NetworkOverview
    campaigns: CampaignOverview
    sites: tuple[SiteTotals, ...]
    days: tuple[DayTotals, ...]


def network(service: ReportService, store: ReportSource, period: PeriodChoice) -> Network:
    """The overview, campaigns, sites and days of one period (the default period when the
    chosen one is refused, with the reason added to the form's errors)."""
    try:
        n = service.network_overview(period.start, period.end)
    except ValidationFailed as exc:
        period.errors.absorb(exc)
        n = service.network_overview()
    p = n.period
    campaigns = service.campaign_overview(None, p.start, p.end, p.timezone)
    shares = {x.id: x.revenue_share_pct for x in service.catalog.publishers.all() if x.id}
    return Network(n, campaigns, tuple(site_totals(store, p)),
                   tuple(daily_totals(store, p, shares)))  # fmt: skip


def _top_campaigns(net: Network, catalog: Catalog, currency: str) -> list[dict[str, Any]]:
    names = {a.id: a.name for a in catalog.advertisers.all()}
    lines = [ln for ln in net.campaigns.lines if ln.impressions or ln.spend_micros]
    lines.sort(key=lambda ln: (-ln.spend_micros, -ln.impressions, ln.campaign.id or 0))
    return [
        {"id": ln.campaign.id, "name": ln.campaign.name,
         "advertiser": names.get(ln.campaign.advertiser_id, ""), "impressions": ln.impressions,
         "clicks": ln.clicks, "ctr": rate_view(ln.ctr),
         "spend": money_text(ln.spend_micros, currency), "spend_micros": ln.spend_micros}
        for ln in lines[:TOP]
    ]  # fmt: skip


def _top_sites(net: Network, catalog: Catalog, currency: str) -> list[dict[str, Any]]:
    sites = {s.id: s for s in catalog.sites.all()}
    publishers = {p.id: p for p in catalog.publishers.all()}
    out = []
    for t in net.sites[:TOP]:
        site, pub = sites.get(t.site_id), publishers.get(t.publisher_id)
        out.append({
            "id": t.site_id, "name": site.name if site else f"site {t.site_id}",
            "domain": site.domain if site else "", "publisher": pub.name if pub else "",
            "impressions": t.impressions, "clicks": t.clicks,
            "ctr": rate_view(Rate(min(t.clicks, t.impressions), t.impressions)),
            "billed": money_text(t.billed_micros, currency), "billed_micros": t.billed_micros,
        })  # fmt: skip
    return out


def _daily_chart(net: Network, currency: str) -> Chart:
    days = net.days
    best = max(days, key=lambda d: d.billed_micros)
    summary = (
        f"Revenue {money_text(net.overview.revenue_micros, currency)} and publisher payouts "
        f"{money_text(net.overview.publisher_payout_micros, currency)} over "
        f"{period_text(net.overview.period)}; the busiest day was {best.day.isoformat()} with "
        f"{money_text(best.billed_micros, currency)} of revenue."
    )
    return Chart(
        "chart-network", "Revenue and publisher payouts per day",
        "Bar chart of revenue per day with a line of publisher payouts per day",
        summary, [d.day.isoformat() for d in days],
        [Series("Revenue (billed)", [amount(d.billed_micros) for d in days], "bar"),
         Series("Publisher payouts", [amount(d.payout_micros) for d in days], "line")],
        unit="money", currency=currency, titles=("Amount", None),
    )  # fmt: skip


@page(Role.ADMIN)
async def overview(request: Request, viewer: Viewer) -> Response:
    """GET /network: `period` = 7, 14, 30 (the default) or custom with `start` and `end`."""
    rt = runtime(request)
    service = report_service(request)
    period = _period(request, service)
    net = await in_thread(network, service, rt.store, period)
    n, currency = net.overview, rt.settings.currency
    campaigns = _top_campaigns(net, rt.catalog, currency)
    sites = _top_sites(net, rt.catalog, currency)
    context = {
        "title": "Network",
        "period": period, "choices": CHOICES, "summary": period.summary(),
        "period_text": period_text(n.period),
        "fill": rate_view(n.decisions), "decisions": n.decisions.trials,
        "impressions": n.impressions, "clicks": n.clicks,
        "revenue": money_text(n.revenue_micros, currency),
        "payouts": money_text(n.publisher_payout_micros, currency),
        "margin": money_text(n.margin_micros, currency),
        "invalid": rate_view(n.invalid),
        "campaigns": campaigns, "sites": sites,
        "chart": _daily_chart(net, currency) if net.days else None,
        "days": [
            {"day": d.day.isoformat(), "impressions": d.impressions, "clicks": d.clicks,
             "billed": money_text(d.billed_micros, currency),
             "payout": money_text(d.payout_micros, currency)}
            for d in net.days
        ],
    }  # fmt: skip
    data = {
        **rj.network_overview(n),
        "top_campaigns": [{k: v for k, v in c.items() if k not in ("ctr", "spend")}
                          | {"spend": rj.money(c["spend_micros"])} for c in campaigns],
        "top_sites": [{k: v for k, v in s.items() if k not in ("ctr", "billed")}
                      | {"billed": rj.money(s["billed_micros"])} for s in sites],
        "daily": [{"day": d.day.isoformat(), "impressions": d.impressions, "clicks": d.clicks,
                   "revenue": rj.money(d.billed_micros),
                   "publisher_payout": rj.money(d.payout_micros)} for d in net.days],
        "errors": period.errors.to_json(),
    }  # fmt: skip
    status = 422 if period.errors else 200
    return render(request, viewer, "reports/network.html", context, data=data, status=status)


# --- invalid traffic ---------------------------------------------------------------------


def ivt(service: ReportService, period: PeriodChoice) -> IvtReport:
    try:
        return service.ivt_report(period.start, period.end)
    except ValidationFailed as exc:
        period.errors.absorb(exc)
        return service.ivt_report()


def _ivt_charts(report: IvtReport) -> list[Chart]:
    charts = []
    if report.by_reason:
        top = report.by_reason[0]
        charts.append(Chart(
            "chart-reasons", "Invalid events by reason", "Bar chart of invalid events by reason",
            f"{report.invalid.successes:,} invalid events; the most common reason was "
            f"{top[0]} with {top[1]:,}.",
            [k for k, _ in report.by_reason],
            [Series("Invalid events", [n for _, n in report.by_reason], "bar")],
        ))  # fmt: skip
    if report.sites:
        sites = report.sites[:15]
        worst = sites[0]
        charts.append(Chart(
            "chart-ivt-sites", "Invalid events by site", "Bar chart of invalid events by site",
            f"{len(report.sites)} sites had invalid traffic; the most was on {worst.name} with "
            f"{worst.invalid.successes:,} events ({rate_view(worst.invalid).full} of its "
            "tracked events).",
            [s.name for s in sites],
            [Series("Invalid events", [s.invalid.successes for s in sites], "bar")],
        ))  # fmt: skip
    return charts


@page(Role.ADMIN)
async def ivt_page(request: Request, viewer: Viewer) -> Response:
    """GET /network/ivt: invalid traffic by reason and site over a period, and the refused
    tracking links this server process has seen."""
    rt = runtime(request)
    service = report_service(request)
    period = _period(request, service)
    report = await in_thread(ivt, service, period)
    refused = rt.rejections.snapshot()
    total = report.invalid.successes
    context = {
        "title": "Invalid traffic",
        "period": period, "choices": CHOICES, "summary": period.summary(),
        "period_text": period_text(report.period),
        "invalid": rate_view(report.invalid), "invalid_events": total,
        "tracked": report.invalid.trials,
        "reasons": [
            {"reason": k, "meaning": REASONS.get(k, ""), "events": n,
             "share": rate_view(Rate(n, total)).text}
            for k, n in report.by_reason
        ],
        "sites": [
            {"id": s.site_id, "name": s.name, "events": s.invalid.successes,
             "rate": rate_view(s.invalid),
             "reasons": ", ".join(f"{k} {n:,}" for k, n in s.reasons.items())}
            for s in report.sites
        ],
        "charts": _ivt_charts(report),
        "refused": [(k, REFUSALS.get(k, ""), n) for k, n in refused.items()],
        "refused_total": sum(refused.values()),
    }  # fmt: skip
    data = {**rj.ivt_report(report), "refused_links": refused,
            "errors": period.errors.to_json()}  # fmt: skip
    status = 422 if period.errors else 200
    return render(request, viewer, "reports/ivt.html", context, data=data, status=status)
