"""Build one campaign's :class:`~backbeat.analytics.inputs.CampaignFacts` from the catalog and
the event store: the input of diagnosis, the scorecard and trends.

Everything is read through the report runner (:func:`backbeat.analytics.runner.run`) or the
builders of :mod:`backbeat.analytics.sql_facts`; no SQL is written here. Every query is
filtered to the campaign and scoped to its advertiser, over the flight so far: from the
campaign's start to its end or `now`, whichever comes first (at most five years back, the
longest range a report takes).

What comes from where:

* totals, the daily series (local days in the campaign's time zone) and reach: one query,
  bucketed by day; total reach is its own distinct count, never a sum of days;
* creatives and their genre split: valid impressions and clicks by creative x genre match;
  the campaign's genre split is the sum of those rows;
* placements: valid impressions, clicks and viewable impressions, and invalid impressions by
  reason, from one query by placement x site x genre match x drop reason that includes
  invalid traffic (rows without a drop reason are the valid ones). A placement whose events
  disagree on genre match (targeting changed mid-flight) takes the side holding most of its
  impressions. The Backbeat tag measures viewability on every impression it renders, so
  ``measured`` is the impression count;
* frequency buckets (1st, 2nd, 3rd, 4th-or-later exposure):
  :func:`~backbeat.analytics.sql_facts.frequency_statement`.

Genre match is what serving recorded on each event: the campaign targeted genres and the site
carries one of them. A campaign without genre targeting therefore has every impression on the
"other sites" side, and the genre comparison has nothing to compare.

Facts require clicks <= impressions for every slice. A click can land in a later day (or a
different genre side, if targeting changed) than its impression, so a slice with more clicks
than impressions is capped at its impressions; the report's own series show raw counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.inputs import (
    CampaignFacts,
    Counts,
    CreativeFacts,
    DayFacts,
    FrequencyBucket,
    GenreSplit,
    PlacementFacts,
)
from backbeat.analytics.metrics import Metric
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import MAX_RANGE_DAYS, Filter, Query
from backbeat.analytics.result import Result, Row
from backbeat.analytics.runner import ReportSource, run
from backbeat.analytics.sql_facts import frequency_statement
from backbeat.domain.campaign import Campaign
from backbeat.domain.taxonomy import AdFormat
from backbeat.store.catalog.protocol import Catalog

M = Metric
D = Dimension
FREQUENCY_BUCKETS = 4  # 1st, 2nd, 3rd, 4th or later


@dataclass(frozen=True)
class Window:
    """The stretch of a campaign a report reads: [start, end), aware UTC datetimes."""

    start: datetime
    end: datetime


def aware(moment: datetime) -> datetime:
    """`moment` with a UTC offset (the catalog returns aware datetimes; naive means UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def flight_window(campaign: Campaign, now: datetime) -> Window | None:
    """The flight so far, clipped to the five years a report may span; None before it starts."""
    start, end = aware(campaign.start), min(aware(campaign.end), aware(now))
    if end <= start:
        return None
    start = max(start, end - timedelta(days=MAX_RANGE_DAYS))
    return Window(start, end)


def campaign_query(campaign: Campaign, window: Window, **kw: object) -> Query:
    """A query over `window` restricted to `campaign` and scoped to its advertiser."""
    ident = _ident(campaign)
    base = Query(
        start=window.start,
        end=window.end,
        timezone=campaign.timezone,
        filters=(Filter(D.CAMPAIGN, frozenset({ident})),),
        **kw,  # type: ignore[arg-type]
    )
    return base.scoped(advertiser_id=campaign.advertiser_id)


def campaign_format(catalog: Catalog, campaign: Campaign) -> AdFormat:
    """The campaign's ad format: its creatives' most common one (display when it has none)."""
    formats = Counter(c.format for c in catalog.creatives.all({"campaign_id": _ident(campaign)}))
    return formats.most_common(1)[0][0] if formats else AdFormat.DISPLAY


def campaign_facts(
    catalog: Catalog,
    store: ReportSource,
    campaign: Campaign,
    now: datetime,
    *,
    benchmark: str | None = None,
) -> CampaignFacts:
    """The facts of `campaign` over its flight so far (see the module docstring)."""
    fmt = campaign_format(catalog, campaign)
    window = flight_window(campaign, now)
    if window is None:
        return _facts(campaign, fmt, benchmark)
    totals = run(
        campaign_query(
            campaign,
            window,
            metrics=(M.IMPRESSIONS, M.CLICKS, M.SPEND, M.REACH, M.VIEWABLE_IMPRESSIONS,
                     M.CONVERSIONS),
            granularity=Granularity.DAY,
        ),
        store,
    )  # fmt: skip
    t = totals.totals
    impressions = _int(t, M.IMPRESSIONS)
    creatives, split = _creatives(catalog, store, campaign, window)
    return _facts(
        campaign,
        fmt,
        benchmark,
        impressions=impressions,
        clicks=min(_int(t, M.CLICKS), impressions),
        spend_micros=_int(t, M.SPEND),
        reach=min(_int(t, M.REACH), impressions),
        viewable=min(_int(t, M.VIEWABLE_IMPRESSIONS), impressions),
        measured=impressions,
        conversions=_int(t, M.CONVERSIONS),
        creatives=creatives,
        placements=_placements(catalog, store, campaign, window),
        genre_split=split,
        frequency=frequency_buckets(store, campaign, window),
        daily=_daily(totals),
    )


def _facts(
    campaign: Campaign, fmt: AdFormat, benchmark: str | None, **measured: object
) -> CampaignFacts:
    values: dict[str, object] = {
        "impressions": 0, "clicks": 0, "spend_micros": 0, **measured,
    }  # fmt: skip
    return CampaignFacts(
        campaign_id=_ident(campaign),
        name=campaign.name,
        objective=campaign.objective,
        format=fmt,
        pricing=campaign.pricing,
        bid_micros=campaign.bid_micros,
        budget_micros=campaign.budget_total_micros,
        start=aware(campaign.start),
        end=aware(campaign.end),
        timezone=campaign.timezone,
        pacing=campaign.pacing,
        frequency_cap=campaign.frequency_cap,
        benchmark=benchmark,
        **values,  # type: ignore[arg-type]
    )


def _daily(result: Result) -> tuple[DayFacts, ...]:
    out = []
    for r in result.rows:
        assert isinstance(r.bucket, date)
        imps = _int(r, M.IMPRESSIONS)
        out.append(
            DayFacts(
                r.bucket,
                imps,
                min(_int(r, M.CLICKS), imps),
                _int(r, M.SPEND),
                min(_int(r, M.REACH), imps),
            )
        )
    return tuple(out)


def _creatives(
    catalog: Catalog, store: ReportSource, campaign: Campaign, window: Window
) -> tuple[tuple[CreativeFacts, ...], GenreSplit]:
    result = run(
        campaign_query(
            campaign, window, metrics=(M.IMPRESSIONS, M.CLICKS),
            dimensions=(D.CREATIVE, D.GENRE_MATCH),
        ),
        store,
    )  # fmt: skip
    names = {c.id: c.name for c in catalog.creatives.all({"campaign_id": _ident(campaign)})}
    cells: dict[int, dict[bool, tuple[int, int]]] = defaultdict(dict)
    for r in result.rows:
        creative_id, match = r.dimensions
        assert isinstance(creative_id, int)
        cells[creative_id][bool(match)] = (_int(r, M.IMPRESSIONS), _int(r, M.CLICKS))
    side = {True: [0, 0], False: [0, 0]}
    creatives = []
    for creative_id in sorted(cells):
        by_match = {m: _counts(*cells[creative_id].get(m, (0, 0))) for m in (True, False)}
        for m, c in by_match.items():
            side[m][0] += c.impressions
            side[m][1] += c.clicks
        imps = sum(c.impressions for c in by_match.values())
        clicks = sum(c.clicks for c in by_match.values())
        creatives.append(
            CreativeFacts(
                creative_id,
                names.get(creative_id) or f"creative {creative_id}",
                imps,
                clicks,
                GenreSplit(by_match[True], by_match[False]),
            )
        )
    split = GenreSplit(_counts(*side[True]), _counts(*side[False]))
    return tuple(creatives), split


def _placements(
    catalog: Catalog, store: ReportSource, campaign: Campaign, window: Window
) -> tuple[PlacementFacts, ...]:
    result = run(
        campaign_query(
            campaign, window, metrics=(M.IMPRESSIONS, M.CLICKS, M.VIEWABLE_IMPRESSIONS),
            dimensions=(D.PLACEMENT, D.SITE, D.GENRE_MATCH, D.DROP_REASON),
            include_invalid=True,
        ),
        store,
    )  # fmt: skip
    valid: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    invalid: dict[int, Counter[str]] = defaultdict(Counter)
    sides: dict[int, Counter[bool]] = defaultdict(Counter)
    site_of: dict[int, int] = {}
    for r in result.rows:
        placement_id, site_id, match, reason = r.dimensions
        assert isinstance(placement_id, int) and isinstance(site_id, int)
        if placement_id == 0:
            continue  # events without a placement (a click with no decision) belong to none
        site_of.setdefault(placement_id, site_id)
        imps = _int(r, M.IMPRESSIONS)
        if reason is None:
            cell = valid[placement_id]
            cell[0] += imps
            cell[1] += _int(r, M.CLICKS)
            cell[2] += _int(r, M.VIEWABLE_IMPRESSIONS)
            sides[placement_id][bool(match)] += imps
        elif imps:
            invalid[placement_id][str(reason)] += imps
    ids = sorted(site_of)
    placements = {p.id: p for p in catalog.placements.all({"id": ids})} if ids else {}
    site_ids = sorted(set(site_of.values()))
    sites = {s.id: s for s in catalog.sites.all({"id": site_ids})} if site_ids else {}
    out = []
    for pid in ids:
        imps, clicks, viewable = valid.get(pid, [0, 0, 0])
        placement, site = placements.get(pid), sites.get(site_of[pid])
        side = sides[pid]
        out.append(
            PlacementFacts(
                placement_id=pid,
                placement_name=placement.name if placement else f"placement {pid}",
                site_id=site_of[pid],
                site_name=site.name if site else f"site {site_of[pid]}",
                impressions=imps,
                clicks=min(clicks, imps),
                viewable=min(viewable, imps),
                measured=imps,
                invalid=dict(invalid.get(pid, {})),
                genre_match=side[True] >= side[False] if side else False,
            )
        )
    return tuple(out)


def frequency_buckets(
    store: ReportSource, campaign: Campaign, window: Window, last: int = FREQUENCY_BUCKETS
) -> tuple[FrequencyBucket, ...]:
    """Impressions and clicks by exposure number (see :mod:`backbeat.analytics.sql_facts`)."""
    start = window.start.astimezone(UTC).replace(tzinfo=None)
    end = window.end.astimezone(UTC).replace(tzinfo=None)
    st = frequency_statement(store.dialect, _ident(campaign), start, end, last)
    out = []
    for exposure, imps, clicks in store.query(st.sql, st.params):
        n, i = int(str(exposure)), int(str(imps))
        out.append(FrequencyBucket(n, i, min(int(str(clicks)), i), and_more=n == last))
    return tuple(sorted(out, key=lambda b: b.exposure))


def _counts(impressions: int, clicks: int) -> Counts:
    return Counts(impressions, min(clicks, impressions))


def _int(row: Row, metric: Metric) -> int:
    value = row[metric]
    return value if isinstance(value, int) else 0


def _ident(campaign: Campaign) -> int:
    if campaign.id is None:
        raise ValueError("the campaign has no id: store it in the catalog first")
    return campaign.id
