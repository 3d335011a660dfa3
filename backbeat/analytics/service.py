"""The report service: the numbers the API, the CLI and the dashboard show.

One :class:`ReportService` over a catalog and an event store (anything with the runner's
``query``/``dialect``) answers:

* :meth:`~ReportService.campaign_overview`: one line per campaign (status, spend against
  budget, impressions, reach, clicks, CTR with its interval, the benchmark verdict);
* :meth:`~ReportService.campaign_report`: one campaign in full (see
  :mod:`backbeat.analytics.campaign_report`), with findings, scorecard and trends;
* :meth:`~ReportService.diagnosis`: the facts and findings alone;
* :meth:`~ReportService.network_overview`: fill rate, revenue, publisher payouts, invalid rate;
* :meth:`~ReportService.publisher_earnings`: per site, impressions, earnings at the
  publisher's revenue share, eCPM and invalid share;
* :meth:`~ReportService.ivt_report`: invalid traffic by reason and by site;
* :meth:`~ReportService.plan`: the budget planner fed with the inventory the event store saw.

**Tenancy.** Methods about campaigns take ``advertiser_id``; ``None`` is the whole network
(an admin, or the operator's CLI). A campaign of another advertiser raises
:class:`~backbeat.errors.NotFound`, exactly as a missing one. Publisher earnings take the
publisher. Queries are also scoped in SQL (:meth:`Query.scoped`), so no filter widens them.

**Periods.** Report periods are local dates in a time zone, both inclusive, validated by
:class:`~backbeat.analytics.query.Query` (at most five years, end not before start).
Findings, the scorecard, trends and the A/B panel always read the whole flight so far;
the series and breakdowns read the requested period.

Money is integer micros; shares and per-mille prices are exact fractions until rendered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from backbeat.analytics import campaign_report as cr
from backbeat.analytics.benchmarks import Verdict
from backbeat.analytics.diagnosis import DEFAULT_THRESHOLDS, Finding, diagnose
from backbeat.analytics.diagnosis.clicks import ctr_verdict
from backbeat.analytics.dimensions import Dimension, FilterValue
from backbeat.analytics.facts import aware, campaign_facts, flight_window
from backbeat.analytics.inputs import CampaignFacts
from backbeat.analytics.metrics import Base, Metric
from backbeat.analytics.periods import Granularity
from backbeat.analytics.planner import (
    ArtistStage,
    BudgetSplit,
    Forecast,
    plan,
    recommend_split,
    split_budget,
)
from backbeat.analytics.query import MAX_RANGE_DAYS, Filter, Query, zone_for
from backbeat.analytics.result import Row
from backbeat.analytics.runner import ReportSource, run
from backbeat.analytics.scorecard import Scorecard, scorecard
from backbeat.analytics.sql_facts import decisions_statement
from backbeat.domain.campaign import Campaign, FrequencyCap, Objective, Pricing
from backbeat.domain.taxonomy import AdFormat
from backbeat.errors import NotFound, ValidationFailed
from backbeat.store.catalog.protocol import Catalog

M = Metric
D = Dimension
Rate = cr.Rate
INVENTORY_DAYS = 14
DEFAULT_DAYS = 30


def share_of(micros: int, percent: int) -> int:
    """`percent`% of `micros`, rounded half-even to a whole micro."""
    units, rest = divmod(micros * percent, 100)
    if 2 * rest > 100 or (2 * rest == 100 and units % 2):
        units += 1
    return units


def _int(row: Row, metric: Metric) -> int:
    value = row[metric]
    return value if isinstance(value, int) else 0


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local dates `start` to `end`, both included, in `timezone`."""

    start: date
    end: date
    timezone: str


@dataclass(frozen=True)
class CampaignLine:
    """One campaign in the overview; delivery over the overview's period."""

    campaign: Campaign
    format: AdFormat
    impressions: int
    clicks: int
    reach: int
    spend_micros: int
    verdict: Verdict | None

    @property
    def ctr(self) -> Rate:
        return Rate(self.clicks, self.impressions)

    @property
    def budget_used(self) -> Fraction:
        return Fraction(self.spend_micros, self.campaign.budget_total_micros)


@dataclass(frozen=True)
class CampaignOverview:
    period: Period
    lines: tuple[CampaignLine, ...]


@dataclass(frozen=True)
class Diagnosis:
    campaign: Campaign
    facts: CampaignFacts
    findings: tuple[Finding, ...]
    generated_at: datetime


@dataclass(frozen=True)
class CampaignReport:
    """One campaign in full. `facts`, findings, scorecard, trends and the A/B panel cover the
    flight so far; `series` and `breakdowns` cover `period`."""

    campaign: Campaign
    period: Period
    generated_at: datetime
    facts: CampaignFacts
    verdict: Verdict | None
    series: tuple[cr.SeriesPoint, ...]
    breakdowns: tuple[cr.Breakdown, ...]
    findings: tuple[Finding, ...]
    ab: cr.ABPanel
    scorecard: Scorecard
    trends: cr.TrendsBundle


@dataclass(frozen=True)
class NetworkOverview:
    period: Period
    decisions: Rate  # filled decisions out of all (the fill rate)
    impressions: int
    clicks: int
    revenue_micros: int  # what advertisers were billed
    publisher_payout_micros: int  # the publishers' revenue shares of it
    invalid: Rate  # invalid tracked events out of all tracked events

    @property
    def margin_micros(self) -> int:
        return self.revenue_micros - self.publisher_payout_micros


@dataclass(frozen=True)
class SiteEarnings:
    site_id: int
    name: str
    domain: str
    impressions: int
    clicks: int
    billed_micros: int  # advertisers' spend on the site
    earnings_micros: int  # the publisher's share of it
    invalid: Rate

    @property
    def ecpm(self) -> Fraction | None:
        """Earnings per 1,000 impressions, in micros."""
        return Fraction(self.earnings_micros * 1000, self.impressions) if self.impressions else None


@dataclass(frozen=True)
class PublisherEarnings:
    publisher_id: int
    name: str
    revenue_share_pct: int
    period: Period
    sites: tuple[SiteEarnings, ...]
    fill: Rate

    @property
    def impressions(self) -> int:
        return sum(s.impressions for s in self.sites)

    @property
    def earnings_micros(self) -> int:
        return sum(s.earnings_micros for s in self.sites)

    @property
    def ecpm(self) -> Fraction | None:
        n = self.impressions
        return Fraction(self.earnings_micros * 1000, n) if n else None

    @property
    def invalid(self) -> Rate:
        return Rate(sum(s.invalid.successes for s in self.sites),
                    sum(s.invalid.trials for s in self.sites))  # fmt: skip


@dataclass(frozen=True)
class IvtSite:
    site_id: int
    name: str
    invalid: Rate
    reasons: dict[str, int]


@dataclass(frozen=True)
class IvtReport:
    period: Period
    invalid: Rate
    by_reason: tuple[tuple[str, int], ...]
    sites: tuple[IvtSite, ...]


@dataclass(frozen=True)
class Inventory:
    """Valid ad requests on some sites' placements over the last `days` days."""

    site_ids: tuple[int, ...]
    placements: int
    days: int
    decisions: int
    daily_impressions: int
    daily_visitors: int


@dataclass(frozen=True)
class PlanRequest:
    budget_micros: int
    pricing: Pricing
    bid_micros: int
    format: AdFormat
    flight_days: int
    frequency_cap: FrequencyCap | None = None
    site_ids: tuple[int, ...] = ()
    genres: frozenset[str] = frozenset()
    available_daily_impressions: int | None = None
    unique_visitors_per_day: int | None = None
    stage: ArtistStage | None = None
    ctr_benchmark: str | None = None


@dataclass(frozen=True)
class PlanOutcome:
    forecast: Forecast
    inventory: Inventory | None  # what the event store saw, when it was asked
    available_daily_impressions: int
    unique_visitors_per_day: int
    split: BudgetSplit | None
    split_micros: dict[Objective, int] | None


# --- the service -------------------------------------------------------------------------


class ReportService:
    """Reports over one catalog and event store (see the module docstring)."""

    def __init__(
        self,
        catalog: Catalog,
        store: ReportSource,
        clock: Callable[[], datetime] | None = None,
        timezone: str = "UTC",
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.timezone = timezone
        zone_for(timezone)

    # --- campaigns -----------------------------------------------------------------------
    def campaign(self, campaign_id: int, advertiser_id: int | None) -> Campaign:
        """The campaign, if the caller may see it; NotFound otherwise."""
        found = self.catalog.campaigns.find(campaign_id)
        if found is None or (advertiser_id is not None and found.advertiser_id != advertiser_id):
            raise NotFound("campaign", campaign_id)
        return found

    def campaign_overview(
        self,
        advertiser_id: int | None,
        start: date | None = None,
        end: date | None = None,
        timezone: str | None = None,
    ) -> CampaignOverview:
        """Every campaign the caller may see, with delivery over the period (by default from
        the earliest campaign's start to today)."""
        tz = timezone or self.timezone
        where = {} if advertiser_id is None else {"advertiser_id": advertiser_id}
        campaigns = sorted(self.catalog.campaigns.all(where), key=lambda c: c.id or 0)
        today = self._today(tz)
        first = min((aware(c.start).astimezone(zone_for(tz)).date() for c in campaigns),
                    default=today)  # fmt: skip
        period = self._period(start, end, tz, default_start=min(first, end or today))
        query = self._query(period, cr.BREAKDOWN_METRICS, dimensions=(D.CAMPAIGN,))
        if advertiser_id is not None:
            query = query.scoped(advertiser_id=advertiser_id)
        rows = {r.dimensions[0]: r for r in run(query, self.store).rows}
        formats = self._formats(campaigns)
        lines = []
        for c in campaigns:
            r = rows.get(c.id)
            facts = CampaignFacts(
                campaign_id=c.id or 0, name=c.name, objective=c.objective,
                format=formats.get(c.id or 0, AdFormat.DISPLAY), pricing=c.pricing,
                bid_micros=c.bid_micros, budget_micros=c.budget_total_micros,
                start=aware(c.start), end=aware(c.end),
                impressions=_int(r, M.IMPRESSIONS) if r else 0,
                clicks=min(_int(r, M.CLICKS), _int(r, M.IMPRESSIONS)) if r else 0,
                spend_micros=_int(r, M.SPEND) if r else 0,
            )  # fmt: skip
            lines.append(
                CampaignLine(
                    c,
                    facts.format,
                    facts.impressions,
                    _int(r, M.CLICKS) if r else 0,
                    _int(r, M.REACH) if r else 0,
                    facts.spend_micros,
                    ctr_verdict(facts, DEFAULT_THRESHOLDS),
                )
            )
        return CampaignOverview(period, tuple(lines))

    def diagnosis(
        self, campaign_id: int, advertiser_id: int | None, *, reading_ctr: bool = False
    ) -> Diagnosis:
        """The campaign's facts over its flight so far and every finding about them."""
        campaign = self.campaign(campaign_id, advertiser_id)
        now = self.clock()
        facts = campaign_facts(self.catalog, self.store, campaign, now)
        findings = diagnose(facts, now, reading_ctr=reading_ctr)
        return Diagnosis(campaign, facts, tuple(findings), now)

    def campaign_report(
        self,
        campaign_id: int,
        advertiser_id: int | None,
        start: date | None = None,
        end: date | None = None,
    ) -> CampaignReport:
        """The whole report of one campaign (see :class:`CampaignReport`). The period
        defaults to the flight so far, in the campaign's time zone."""
        campaign = self.campaign(campaign_id, advertiser_id)
        now = self.clock()
        zone = campaign.tz
        first = aware(campaign.start).astimezone(zone).date()
        last = min(aware(campaign.end), now).astimezone(zone).date()
        period = self._period(start, end, campaign.timezone, default_start=first,
                              default_end=max(first, last))  # fmt: skip
        facts = campaign_facts(self.catalog, self.store, campaign, now)
        campaign_filter = (Filter(D.CAMPAIGN, frozenset({campaign_id})),)

        def query(metrics: tuple[Metric, ...], **kw: object) -> Query:
            base = self._query(period, metrics, filters=campaign_filter, **kw)
            return base.scoped(advertiser_id=campaign.advertiser_id)

        series = cr.series(
            run(query(cr.SERIES_METRICS, granularity=Granularity.DAY), self.store),
            campaign,
            self._spent_before(campaign, period),
        )
        labels = self._labels(campaign, facts)
        breakdowns = tuple(
            cr.breakdown(dim, title, run(query(cr.BREAKDOWN_METRICS, dimensions=(dim,)),
                                         self.store), labels.get(dim, {}))
            for dim, title in cr.BREAKDOWNS
        )  # fmt: skip
        return CampaignReport(
            campaign=campaign,
            period=period,
            generated_at=now,
            facts=facts,
            verdict=ctr_verdict(facts, DEFAULT_THRESHOLDS),
            series=series,
            breakdowns=breakdowns,
            findings=tuple(diagnose(facts, now)),
            ab=cr.ab_panel(facts.creatives),
            scorecard=scorecard(facts),
            trends=cr.trends_of(facts.daily),
        )

    def _spent_before(self, campaign: Campaign, period: Period) -> int:
        """Spend from the flight's start to the period's start (for cumulative spend)."""
        window = flight_window(campaign, self.clock())
        begin = datetime.combine(period.start, datetime.min.time(), tzinfo=campaign.tz)
        if window is None or begin <= window.start:
            return 0
        q = Query(
            start=window.start, end=min(begin, window.end), metrics=(M.SPEND,),
            timezone=campaign.timezone,
            filters=(Filter(D.CAMPAIGN, frozenset({campaign.id or 0})),),
        ).scoped(advertiser_id=campaign.advertiser_id)  # fmt: skip
        return _int(run(q, self.store).totals, M.SPEND)

    def _labels(
        self, campaign: Campaign, facts: CampaignFacts
    ) -> dict[Dimension, dict[FilterValue, str]]:
        creatives: dict[FilterValue, str] = {c.creative_id: c.name for c in facts.creatives}
        for c in self.catalog.creatives.all({"campaign_id": campaign.id}):
            if c.id is not None:
                creatives[c.id] = c.name
        sites: dict[FilterValue, str] = {p.site_id: p.site_name for p in facts.placements}
        return {D.CREATIVE: creatives, D.SITE: sites, D.GENRE_MATCH: cr.genre_labels()}

    def _formats(self, campaigns: list[Campaign]) -> dict[int, AdFormat]:
        """Each campaign's most common creative format, from one catalog read."""
        ids = [c.id for c in campaigns if c.id is not None]
        counts: dict[int, Counter[AdFormat]] = defaultdict(Counter)
        for creative in self.catalog.creatives.all({"campaign_id": ids}) if ids else ():
            counts[creative.campaign_id][creative.format] += 1
        return {cid: n.most_common(1)[0][0] for cid, n in counts.items()}

    # --- the network, publishers, invalid traffic ----------------------------------------
    def network_overview(
        self, start: date | None = None, end: date | None = None, timezone: str | None = None
    ) -> NetworkOverview:
        """The whole network over the period (by default the last 30 days)."""
        period = self._period(start, end, timezone or self.timezone)
        q = self._query(period, (M.IMPRESSIONS, M.CLICKS, M.SPEND, M.INVALID_RATE),
                        dimensions=(D.PUBLISHER,))  # fmt: skip
        result = run(q, self.store)
        shares = {p.id: p.revenue_share_pct for p in self.catalog.publishers.all()}
        payout = 0
        for r in result.rows:
            publisher = r.dimensions[0]
            pct = shares.get(publisher, 0) if isinstance(publisher, int) else 0
            payout += share_of(_int(r, M.SPEND), pct)
        t = result.totals
        decisions = self._decisions(q, None)
        return NetworkOverview(
            period=period,
            decisions=decisions,
            impressions=_int(t, M.IMPRESSIONS),
            clicks=_int(t, M.CLICKS),
            revenue_micros=_int(t, M.SPEND),
            publisher_payout_micros=payout,
            invalid=Rate(t.aggregates.get(Base.INVALID, 0), t.aggregates.get(Base.TRACKED, 0)),
        )

    def publisher_earnings(
        self,
        publisher_id: int,
        start: date | None = None,
        end: date | None = None,
        timezone: str | None = None,
    ) -> PublisherEarnings:
        """Each of the publisher's sites over the period (by default the last 30 days)."""
        publisher = self.catalog.publishers.find(publisher_id)
        if publisher is None:
            raise NotFound("publisher", publisher_id)
        period = self._period(start, end, timezone or self.timezone)
        q = self._query(period, (M.IMPRESSIONS, M.CLICKS, M.SPEND, M.INVALID_RATE),
                        dimensions=(D.SITE,)).scoped(publisher_id=publisher_id)  # fmt: skip
        rows = {r.dimensions[0]: r for r in run(q, self.store).rows}
        sites = sorted(self.catalog.sites.all({"publisher_id": publisher_id}),
                       key=lambda s: s.id or 0)  # fmt: skip
        pct = publisher.revenue_share_pct
        out = []
        for s in sites:
            r = rows.get(s.id)
            billed = _int(r, M.SPEND) if r else 0
            agg = r.aggregates if r else {}
            out.append(
                SiteEarnings(
                    s.id or 0, s.name, s.domain,
                    _int(r, M.IMPRESSIONS) if r else 0, _int(r, M.CLICKS) if r else 0,
                    billed, share_of(billed, pct),
                    Rate(agg.get(Base.INVALID, 0), agg.get(Base.TRACKED, 0)),
                )
            )  # fmt: skip
        placements = [p.id for p in self.catalog.placements.all({"publisher_id": publisher_id})]
        fill = self._decisions(q, [p for p in placements if p is not None])
        return PublisherEarnings(publisher_id, publisher.name, pct, period, tuple(out), fill)

    def ivt_report(
        self, start: date | None = None, end: date | None = None, timezone: str | None = None
    ) -> IvtReport:
        """Invalid traffic over the period by reason, and by site with its reasons."""
        period = self._period(start, end, timezone or self.timezone)
        per_site = run(self._query(period, (M.INVALID_EVENTS, M.INVALID_RATE),
                                   dimensions=(D.SITE,)), self.store)  # fmt: skip
        reasons = run(self._query(period, (M.INVALID_EVENTS,),
                                  dimensions=(D.SITE, D.DROP_REASON)), self.store)  # fmt: skip
        by_site: dict[object, dict[str, int]] = defaultdict(dict)
        totals: dict[str, int] = defaultdict(int)
        for r in reasons.rows:
            n = _int(r, M.INVALID_EVENTS)
            if n:
                reason = str(r.dimensions[1] or "unspecified")
                by_site[r.dimensions[0]][reason] = n
                totals[reason] += n
        names = {s.id: s.name for s in self.catalog.sites.all()}
        sites = []
        for r in per_site.rows:
            agg = r.aggregates
            if not agg.get(Base.INVALID, 0):
                continue
            site_id = r.dimensions[0]
            assert isinstance(site_id, int)
            label = names.get(site_id) or ("no site" if site_id == 0 else f"site {site_id}")
            sites.append(
                IvtSite(site_id, label, Rate(agg.get(Base.INVALID, 0), agg.get(Base.TRACKED, 0)),
                        dict(sorted(by_site[site_id].items(), key=lambda kv: -kv[1])))
            )  # fmt: skip
        sites.sort(key=lambda s: (-s.invalid.successes, s.site_id))
        t = per_site.totals.aggregates
        return IvtReport(
            period,
            Rate(t.get(Base.INVALID, 0), t.get(Base.TRACKED, 0)),
            tuple(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))),
            tuple(sites),
        )

    # --- planning ------------------------------------------------------------------------
    def inventory(
        self,
        site_ids: Collection[int] = (),
        genres: Collection[str] = (),
        days: int = INVENTORY_DAYS,
    ) -> Inventory:
        """Valid ad requests over the last `days` days on the active placements of the sites
        named, else of the sites carrying any of `genres`, else of every site. Daily figures
        are averages over all `days` (a quiet day counts as 0)."""
        chosen = self._sites(site_ids, genres)
        placements = [
            p.id
            for p in self.catalog.placements.all({"site_id": list(chosen), "active": True})
            if p.id is not None
        ] if chosen else []  # fmt: skip
        if not placements:
            return Inventory(tuple(chosen), 0, days, 0, 0, 0)
        end = self.clock().astimezone(UTC).replace(tzinfo=None)
        st = decisions_statement(
            self.store.dialect, end - timedelta(days=days), end, placements=placements,
            by_day=True,
        )  # fmt: skip
        rows = self.store.query(st.sql, st.params)
        decisions = sum(int(str(r[1])) for r in rows)
        visitors = sum(int(str(r[3])) for r in rows)
        return Inventory(tuple(chosen), len(placements), days, decisions,
                         decisions // days, visitors // days)  # fmt: skip

    def _sites(self, site_ids: Collection[int], genres: Collection[str]) -> list[int]:
        if site_ids:
            found = {s.id for s in self.catalog.sites.all({"id": list(site_ids)})}
            for i, ident in enumerate(site_ids):
                if ident not in found:
                    raise ValidationFailed.one(f"site_ids[{i}]", f"site {ident} not found")
            return sorted(i for i in found if i is not None)
        wanted = set(genres)
        return sorted(
            s.id for s in self.catalog.sites.all()
            if s.id is not None and (not wanted or wanted & s.genres)
        )  # fmt: skip

    def plan(self, request: PlanRequest) -> PlanOutcome:
        """Forecast a campaign; inventory and visitors come from the event store unless the
        request supplies them (see :meth:`inventory`)."""
        supplied = (request.available_daily_impressions, request.unique_visitors_per_day)
        measured = (
            None if None not in supplied else self.inventory(request.site_ids, request.genres)
        )
        return plan_outcome(request, measured)

    # --- helpers -------------------------------------------------------------------------
    def _today(self, timezone: str) -> date:
        return self.clock().astimezone(zone_for(timezone)).date()

    def _period(
        self,
        start: date | None,
        end: date | None,
        timezone: str,
        *,
        default_start: date | None = None,
        default_end: date | None = None,
    ) -> Period:
        zone_for(timezone)
        last = end or default_end or self._today(timezone)
        first = start or default_start or last - timedelta(days=DEFAULT_DAYS - 1)
        if start is None and (last - first).days >= MAX_RANGE_DAYS:
            first = last - timedelta(days=MAX_RANGE_DAYS - 1)  # a default never over-reaches
        if start is None and first > last:
            first = last
        return Period(first, last, timezone)

    @staticmethod
    def _query(period: Period, metrics: tuple[Metric, ...], **kw: object) -> Query:
        return Query(start=period.start, end=period.end, timezone=period.timezone,
                     metrics=metrics, **kw)  # type: ignore[arg-type]  # fmt: skip

    def _decisions(self, query: Query, placements: list[int] | None) -> Rate:
        """Filled decisions out of all over the query's period."""
        if placements is not None and not placements:
            return Rate(0, 0)
        p = query.period
        st = decisions_statement(self.store.dialect, p.start, p.end, placements=placements)
        rows = self.store.query(st.sql, st.params)
        total, filled = (int(str(rows[0][0])), int(str(rows[0][1]))) if rows else (0, 0)
        return Rate(filled, total)


def plan_outcome(request: PlanRequest, measured: Inventory | None = None) -> PlanOutcome:
    """The planner's forecast (and budget split, when the request names a stage) for
    `request`, taking the figures it does not supply from `measured`. ValidationFailed names
    a missing figure when neither gives it."""
    available = request.available_daily_impressions
    visitors = request.unique_visitors_per_day
    days = measured.days if measured is not None else INVENTORY_DAYS
    if available is None:
        if measured is None or measured.daily_impressions == 0:
            raise ValidationFailed.one(
                "available_daily_impressions",
                f"no ad requests on the targeted sites in the last {days} days; give the figure",
            )
        available = measured.daily_impressions
    if visitors is None:
        if measured is None or measured.daily_visitors == 0:
            raise ValidationFailed.one(
                "unique_visitors_per_day",
                f"no known visitors on the targeted sites in the last {days} days; give the figure",
            )
        visitors = measured.daily_visitors
    forecast = plan(
        request.budget_micros, request.pricing, request.bid_micros, request.format,
        request.flight_days, request.frequency_cap, available, visitors,
        ctr_benchmark=request.ctr_benchmark,
    )  # fmt: skip
    split = recommend_split(request.stage) if request.stage is not None else None
    amounts = split_budget(request.budget_micros, split) if split is not None else None
    return PlanOutcome(forecast, measured, available, visitors, split, amounts)
