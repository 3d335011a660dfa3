"""Publisher earnings (`/publisher/earnings`): impressions, eCPM and earnings at the revenue
share, per site and per day, with each site's invalid-traffic share and the fill rate.

Publishers see their own; admins see every publisher together, or one (`?publisher=ID`).
The figures are :meth:`ReportService.publisher_earnings`; the daily chart comes from
:func:`~backbeat.web.dashboard.report_queries.daily_totals` over the same period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from backbeat.analytics import report_json as rj
from backbeat.analytics.campaign_report import Rate
from backbeat.analytics.query import zone_for
from backbeat.analytics.runner import ReportSource
from backbeat.analytics.service import DEFAULT_DAYS, Period, PublisherEarnings, ReportService
from backbeat.domain.accounts import Role
from backbeat.errors import ValidationFailed
from backbeat.web.dashboard.base import Viewer, not_found, page, render, runtime
from backbeat.web.dashboard.report_queries import DayTotals, daily_totals
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


@dataclass(frozen=True)
class Earnings:
    """One or several publishers' earnings over one period, and its days."""

    period: Period
    publishers: tuple[PublisherEarnings, ...]
    days: tuple[DayTotals, ...]

    @property
    def impressions(self) -> int:
        return sum(e.impressions for e in self.publishers)

    @property
    def earnings_micros(self) -> int:
        return sum(e.earnings_micros for e in self.publishers)

    @property
    def billed_micros(self) -> int:
        return sum(s.billed_micros for e in self.publishers for s in e.sites)

    @property
    def ecpm(self) -> Fraction | None:
        n = self.impressions
        return Fraction(self.earnings_micros * 1000, n) if n else None

    @property
    def invalid(self) -> Rate:
        return _sum_rates(e.invalid for e in self.publishers)

    @property
    def fill(self) -> Rate:
        return _sum_rates(e.fill for e in self.publishers)


def _sum_rates(rates: Any) -> Rate:
    items = list(rates)
    return Rate(sum(r.successes for r in items), sum(r.trials for r in items))


def earnings(
    service: ReportService,
    store: ReportSource,
    publisher_ids: list[int],
    period: PeriodChoice,
    today: date,
) -> Earnings:
    """Each publisher's earnings over the chosen period (the default period when the choice
    is refused, its reason added to the form's errors), and the days of that period."""
    tz = service.timezone

    def read(start: Any, end: Any) -> tuple[PublisherEarnings, ...]:
        return tuple(service.publisher_earnings(p, start, end, tz) for p in publisher_ids)

    try:
        found = read(period.start, period.end)
    except ValidationFailed as exc:
        period.errors.absorb(exc)
        found = read(None, None)
    if found:
        when = found[0].period
    else:  # no publisher yet: the period the service would have reported
        last = period.end or today
        when = Period(period.start or last - timedelta(days=DEFAULT_DAYS - 1), last, tz)
    shares = {e.publisher_id: e.revenue_share_pct for e in found}
    single = publisher_ids[0] if len(publisher_ids) == 1 else None
    days = daily_totals(store, when, shares, single) if found else []
    return Earnings(when, found, tuple(days))


def _chart(e: Earnings, currency: str) -> Chart:
    days = e.days
    best = max(days, key=lambda d: d.payout_micros)
    summary = (
        f"{money_text(e.earnings_micros, currency)} earned from {e.impressions:,} impressions "
        f"over {period_text(e.period)}; the best day was {best.day.isoformat()} with "
        f"{money_text(best.payout_micros, currency)}."
    )
    return Chart(
        "chart-earnings", "Earnings and impressions per day",
        "Bar chart of earnings per day with a line of impressions per day",
        summary, [d.day.isoformat() for d in days],
        [Series("Earnings", [amount(d.payout_micros) for d in days], "bar"),
         Series("Impressions", [d.impressions for d in days], "line", axis="y2")],
        unit="money", unit2="count", currency=currency, titles=("Earnings", "Impressions"),
    )  # fmt: skip


def _sites(e: Earnings, currency: str) -> list[dict[str, Any]]:
    return [
        {"id": s.site_id, "name": s.name, "domain": s.domain, "publisher": p.name,
         "share": p.revenue_share_pct, "impressions": s.impressions, "clicks": s.clicks,
         "billed": money_text(s.billed_micros, currency),
         "earnings": money_text(s.earnings_micros, currency),
         "ecpm": money_text(None if s.ecpm is None else round(s.ecpm), currency),
         "invalid": rate_view(s.invalid)}
        for p in e.publishers for s in p.sites
    ]  # fmt: skip


def _data(e: Earnings) -> dict[str, Any]:
    return {
        "version": rj.VERSION,
        "period": rj.period(e.period),
        "impressions": e.impressions,
        "earnings": rj.money(e.earnings_micros),
        "billed": rj.money(e.billed_micros),
        "ecpm": rj.money(e.ecpm),
        "invalid_share": rj.rate(e.invalid),
        "fill_rate": rj.rate(e.fill),
        "publishers": [rj.publisher_earnings(p) for p in e.publishers],
        "daily": [
            {"day": d.day.isoformat(), "impressions": d.impressions, "clicks": d.clicks,
             "billed": rj.money(d.billed_micros), "earnings": rj.money(d.payout_micros)}
            for d in e.days
        ],
    }  # fmt: skip


@page(Role.PUBLISHER, Role.ADMIN)
async def earnings_page(request: Request, viewer: Viewer) -> Response:
    """GET /publisher/earnings: `period` = 7, 14, 30 (the default) or custom with `start`
    and `end`; admins may add `publisher=ID`."""
    rt = runtime(request)
    service = report_service(request)
    publishers = {p.id: p for p in rt.catalog.publishers.all() if p.id is not None}
    chosen: int | None = None
    if viewer.scope.is_admin:
        raw = request.query_params.get("publisher", "")
        if raw and (not raw.isdigit() or int(raw) not in publishers):
            return not_found(request, viewer, "publisher")
        chosen = int(raw) if raw else None
        ids = [chosen] if chosen is not None else sorted(publishers)
    else:
        own = viewer.principal.publisher_id
        assert own is not None
        ids = [own]
    today = service.clock().astimezone(zone_for(service.timezone)).date()
    period = choose_period(request.query_params, today, CHOICES, "30")
    found = await in_thread(earnings, service, rt.store, ids, period, today)
    currency = rt.settings.currency
    single = found.publishers[0] if len(found.publishers) == 1 else None
    context = {
        "title": "Earnings",
        "is_admin": viewer.scope.is_admin,
        "publishers": sorted(((i, p.name) for i, p in publishers.items()),
                             key=lambda kv: kv[1].lower()),
        "chosen": chosen,
        "single": single,
        "period": period,
        "choices": CHOICES,
        "extra": {} if chosen is None else {"publisher": chosen},
        "summary": period.summary(),
        "period_text": period_text(found.period),
        "impressions": found.impressions,
        "earnings": money_text(found.earnings_micros, currency),
        "billed": money_text(found.billed_micros, currency),
        "ecpm": money_text(None if found.ecpm is None else round(found.ecpm), currency),
        "invalid": rate_view(found.invalid),
        "fill": rate_view(found.fill),
        "sites": _sites(found, currency),
        "chart": _chart(found, currency) if found.days else None,
        "days": [
            {"day": d.day.isoformat(), "impressions": d.impressions,
             "earnings": money_text(d.payout_micros, currency)}
            for d in found.days
        ],
    }  # fmt: skip
    status = 422 if period.errors else 200
    data = {**_data(found), "errors": period.errors.to_json()}
    return render(request, viewer, "reports/earnings.html", context, data=data, status=status)
