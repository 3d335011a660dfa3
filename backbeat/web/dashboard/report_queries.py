"""The few figures the network and earnings pages chart that the report service does not
return: delivery per day (with the publishers' payouts of each day) and delivery per site.

Both go through the report runner (:func:`backbeat.analytics.runner.run`) over exactly the
period the service reported, so they add up to the service's totals. Payouts are each
publisher's revenue share of each day's billing, rounded per publisher and day
(:func:`~backbeat.analytics.service.share_of`); the service rounds per publisher over the
period, so a daily sum may differ from its total by a few micros.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import Metric
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import Query
from backbeat.analytics.result import Row
from backbeat.analytics.runner import ReportSource, run
from backbeat.analytics.service import Period, share_of

M = Metric
DELIVERY = (M.IMPRESSIONS, M.CLICKS, M.SPEND)


def _int(row: Row, metric: Metric) -> int:
    value = row[metric]
    return value if isinstance(value, int) else 0


@dataclass(frozen=True)
class DayTotals:
    """One local day of delivery, what advertisers were billed, and the publishers' share."""

    day: date
    impressions: int
    clicks: int
    billed_micros: int
    payout_micros: int


@dataclass(frozen=True)
class SiteTotals:
    site_id: int
    publisher_id: int
    impressions: int
    clicks: int
    billed_micros: int


def _query(period: Period, publisher_id: int | None, **kw: object) -> Query:
    q = Query(start=period.start, end=period.end, timezone=period.timezone, metrics=DELIVERY,
              **kw)  # type: ignore[arg-type]  # fmt: skip
    return q if publisher_id is None else q.scoped(publisher_id=publisher_id)


def days_of(period: Period) -> list[date]:
    n = (period.end - period.start).days + 1
    return [period.start + timedelta(days=i) for i in range(n)]


def daily_totals(
    store: ReportSource,
    period: Period,
    shares: Mapping[int, int],
    publisher_id: int | None = None,
) -> list[DayTotals]:
    """Every day of `period` (quiet days as zeros), for one publisher or the whole network.
    `shares` maps a publisher id to its revenue share in percent."""
    q = _query(period, publisher_id, granularity=Granularity.DAY,
               dimensions=(Dimension.PUBLISHER,))  # fmt: skip
    sums: dict[date, list[int]] = {d: [0, 0, 0, 0] for d in days_of(period)}
    for r in run(q, store).rows:
        if not isinstance(r.bucket, date):
            continue
        publisher = r.dimensions[0]
        billed = _int(r, M.SPEND)
        pct = shares.get(publisher, 0) if isinstance(publisher, int) else 0
        acc = sums.setdefault(r.bucket, [0, 0, 0, 0])
        acc[0] += _int(r, M.IMPRESSIONS)
        acc[1] += _int(r, M.CLICKS)
        acc[2] += billed
        acc[3] += share_of(billed, pct)
    return [DayTotals(d, *v) for d, v in sorted(sums.items())]


def site_totals(
    store: ReportSource, period: Period, publisher_id: int | None = None
) -> list[SiteTotals]:
    """Delivery per site over `period`, most billed first (sites with no delivery left out)."""
    q = _query(period, publisher_id, dimensions=(Dimension.SITE, Dimension.PUBLISHER))
    out = []
    for r in run(q, store).rows:
        site, publisher = r.dimensions
        if not isinstance(site, int) or not isinstance(publisher, int) or not site:
            continue
        totals = SiteTotals(site, publisher, _int(r, M.IMPRESSIONS), _int(r, M.CLICKS),
                            _int(r, M.SPEND))  # fmt: skip
        if totals.impressions or totals.clicks or totals.billed_micros:
            out.append(totals)
    out.sort(key=lambda s: (-s.billed_micros, -s.impressions, s.site_id))
    return out
