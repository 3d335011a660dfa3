"""One metric model across platforms: imported report rows compared per platform and campaign.

Every figure is recomputed from base counts, never averaged from the platforms' own rates:
CTR = link clicks / impressions (with a Wilson 95% interval), CPM = spend / impressions x
1,000, CPC = spend / link clicks. "Clicks" means link (destination) clicks, the one count all
platforms share; Meta's "Clicks (all)" is kept apart. Spend stays in the currency it was
reported in: lines are split per currency and nothing is converted or added across
currencies.

Reach never adds up (the same person counts once in every row that reached them), so a
line shows reach only when it is made of exactly one platform row covering exactly the
compared period; otherwise it says why reach is not available.

Each platform is measured against its own benchmark (:func:`benchmark_for`): Meta against
Facebook's published CTR, which counts all clicks, so Meta is compared on its all-clicks CTR;
Google display and video campaigns against the display-network and in-stream video figures;
CPM benchmarks are US dollars and are compared only with spend in USD.

:func:`compare` takes any rows of the normalised shape, so first-party Backbeat campaigns can
be passed as ``extra`` rows (platform ``"backbeat"``) and are measured the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import chain

from backbeat.analytics.benchmarks import (
    Benchmark,
    Metric,
    benchmark_for,
    cpm_position,
    verdict,
)
from backbeat.analytics.stats import to_percent, wilson_interval
from backbeat.errors import ValidationFailed
from backbeat.importers import registry
from backbeat.importers.model import ReportRow

MICROS = Decimal(1_000_000)
CENTI = Decimal("0.0001")  # rates and prices are shown to 4 decimals
BENCHMARK_CURRENCY = "USD"

LINK_CLICKS_NOTE = (
    "Clicks are link clicks: clicks that took people to your destination (Meta's 'Link "
    "clicks', TikTok's 'Clicks (destination)', Google's and Spotify's 'Clicks'). CTR and CPC "
    "are computed from them on every platform, so they compare like with like. Meta's "
    "'Clicks (all)' also count likes, comments, shares and profile clicks; they are shown "
    "apart as all clicks and never mixed into CTR or CPC."
)
REACH_NOTE = (
    "Reach is the number of people reached at least once, so it does not add up across days, "
    "ad sets or campaigns. It is shown only where a platform reported it for exactly the "
    "compared period; export that period as one row to see it."
)
CURRENCY_NOTE = (
    "Spend is shown in the currency each platform reported and is never converted, so CPM "
    "and CPC are per currency."
)
BENCHMARK_NOTE = (
    "Benchmarks are published averages of varying quality (see each one's source); CPM "
    "benchmarks are in US dollars and are compared only with spend in USD."
)


class Outcome(StrEnum):
    """How a figure compares with its benchmark."""

    BELOW = "below"
    WITHIN = "within"
    ABOVE = "above"
    NOT_ENOUGH_DATA = "not_enough_data"
    NO_BENCHMARK = "no_benchmark"
    NOT_COMPARABLE = "not_comparable"


@dataclass(frozen=True)
class CompareQuery:
    """What to compare. Empty ``platforms``/``campaigns`` mean all; dates are inclusive."""

    start: date | None = None
    end: date | None = None
    platforms: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValidationFailed.one("end", "the period ends before it starts")
        object.__setattr__(self, "platforms", tuple(platform_key(p) for p in self.platforms))


def platform_key(name: str) -> str:
    """The stored name of a platform: ``facebook`` -> ``meta``, ``YouTube`` -> ``google_ads``."""
    key = name.strip().casefold()
    if not key:
        raise ValidationFailed.one("platform", "must not be empty")
    return registry.ALIASES.get(key, key)


@dataclass(frozen=True)
class Rate:
    """A click-through rate in percent with its Wilson 95% interval, and what it rests on."""

    clicks: int
    impressions: int
    percent: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class Check:
    """A figure against a benchmark. ``basis`` says which clicks or currency were compared."""

    metric: str
    outcome: Outcome
    sentence: str
    benchmark: Benchmark | None = None
    basis: str | None = None
    more_impressions_needed: int | None = None


@dataclass(frozen=True)
class CurrencyFigures:
    """Spend and prices in one currency, over the rows reported in it."""

    currency: str
    spend_micros: int
    impressions: int
    clicks: int | None
    cpm: Decimal | None  # currency units per 1,000 impressions
    cpc: Decimal | None  # currency units per link click
    cpm_check: Check

    @property
    def spend(self) -> Decimal:
        return Decimal(self.spend_micros) / MICROS


@dataclass(frozen=True)
class Reach:
    """Reach and frequency for the compared period, or why they are not available."""

    value: int | None
    frequency: Decimal | None
    note: str | None


@dataclass(frozen=True)
class Figures:
    """Everything measured on one line of the comparison."""

    rows: int
    start: date
    end: date
    impressions: int
    clicks: int | None
    clicks_all: int | None
    ctr: Rate | None
    ctr_all: Rate | None
    spend: tuple[CurrencyFigures, ...]
    reach: Reach
    conversions: Decimal | None
    results: tuple[tuple[str, Decimal], ...]  # (result indicator, total); never mixed
    viewable_impressions: int | None
    views: int | None
    starts: int | None
    completes: int | None


@dataclass(frozen=True)
class Line:
    """One platform, or one campaign on one platform and account."""

    platform: str
    account: str | None
    campaign: str | None
    kind: str | None  # Google only: "display", "video", "mixed", or None when unknown
    figures: Figures
    ctr_check: Check


@dataclass(frozen=True)
class Comparison:
    """The comparison: per platform, per campaign, and the notes that explain it."""

    start: date | None
    end: date | None
    platforms: tuple[Line, ...]
    campaigns: tuple[Line, ...]
    rows_left_out: int  # rows only partly inside the requested period
    notes: tuple[str, ...]


def _add(total: int | None, value: int | None) -> int | None:
    if value is None:
        return total
    return value if total is None else total + value


@dataclass
class _Money:
    spend: int = 0
    impressions: int = 0
    clicks: int | None = None
    spend_clicked: int = 0  # spend of the rows that reported link clicks


@dataclass
class _Sum:
    """Running sums of one line."""

    rows: int = 0
    only: ReportRow | None = None
    start: date = date.max
    end: date = date.min
    impressions: int = 0
    clicks: int | None = None
    impressions_clicked: int = 0
    clicks_all: int | None = None
    impressions_all: int = 0
    money: dict[str, _Money] = field(default_factory=dict)
    conversions: Decimal | None = None
    results: dict[str, Decimal] = field(default_factory=dict)
    viewable: int | None = None
    views: int | None = None
    starts: int | None = None
    completes: int | None = None
    video: bool = False

    def add(self, r: ReportRow) -> None:
        self.rows += 1
        self.only = r if self.rows == 1 else None
        self.start, self.end = min(self.start, r.start), max(self.end, r.end)
        self.impressions += r.impressions
        money = self.money.setdefault(r.currency, _Money())
        money.spend += r.spend_micros
        money.impressions += r.impressions
        if r.clicks is not None:
            self.clicks = _add(self.clicks, r.clicks)
            self.impressions_clicked += r.impressions
            money.clicks = _add(money.clicks, r.clicks)
            money.spend_clicked += r.spend_micros
        if r.clicks_all is not None:
            self.clicks_all = _add(self.clicks_all, r.clicks_all)
            self.impressions_all += r.impressions
        if r.conversions is not None:
            self.conversions = (self.conversions or Decimal(0)) + r.conversions
        if r.results is not None:
            key = r.result_indicator or "unspecified"
            self.results[key] = self.results.get(key, Decimal(0)) + r.results
        self.viewable = _add(self.viewable, r.viewable_impressions)
        self.views = _add(self.views, r.views)
        self.starts = _add(self.starts, r.starts)
        self.completes = _add(self.completes, r.completes)
        self.video = self.video or r.views is not None or r.q25_rate is not None

    def kind(self) -> str | None:
        """Google campaign type from what it measures: only video reports views and only
        display and video report viewable impressions (Search has neither)."""
        if self.video:
            return "video"
        return "display" if self.viewable is not None else None


def _rate(clicks: int | None, impressions: int) -> Rate | None:
    if clicks is None or impressions == 0 or clicks > impressions:
        return None
    ci = wilson_interval(clicks, impressions)
    return Rate(
        clicks,
        impressions,
        to_percent(Fraction(clicks, impressions), 4),
        to_percent(ci.low, 4),
        to_percent(ci.high, 4),
    )


def _price(spend_micros: int, per: int | None, scale: int = 1) -> Decimal | None:
    if not per:
        return None
    exact = Decimal(spend_micros) * scale / MICROS / per
    return exact.quantize(CENTI, rounding=ROUND_HALF_EVEN)


def _benchmark_name(platform: str, kind: str | None) -> str | None:
    if platform == "google_ads":
        return {"video": "in-stream-video", "display": "google-display"}.get(kind or "")
    return platform


def _ctr_check(platform: str, kind: str | None, s: _Sum) -> Check:
    metric = Metric.CTR.value
    if platform == "google_ads" and kind in (None, "mixed"):
        why = (
            "mixes display, video and other campaign types; see each campaign"
            if kind == "mixed"
            else "is not display or video (no viewable impressions or views reported)"
        )
        return Check(metric, Outcome.NO_BENCHMARK, f"This Google Ads line {why}.")
    name = _benchmark_name(platform, kind)
    bench = benchmark_for(name, Metric.CTR) if name else None
    if bench is None:
        return Check(metric, Outcome.NO_BENCHMARK, f"No published CTR benchmark for {platform}.")
    clicks, impressions, basis = s.clicks, s.impressions_clicked, "link clicks"
    if bench.key == "facebook":  # the published Facebook CTR counts all clicks
        clicks, impressions, basis = s.clicks_all, s.impressions_all, "all clicks"
    if clicks is None or impressions == 0 or clicks > impressions:
        return Check(
            metric,
            Outcome.NOT_COMPARABLE,
            f"The benchmark ({bench.label}) is a CTR of {basis}, which these rows do not report.",
            bench,
            basis,
        )
    v = verdict(clicks, impressions, bench)
    sentence = v.sentence
    if basis == "all clicks":
        sentence = f"Compared on all clicks, as the benchmark counts them: {sentence}"
    return Check(
        metric, Outcome(v.outcome.value), sentence, bench, basis, v.more_impressions_needed
    )


def _cpm_check(platform: str, kind: str | None, currency: str, cpm: Decimal | None) -> Check:
    metric = Metric.CPM.value
    name = _benchmark_name(platform, kind)
    bench = benchmark_for(name, Metric.CPM) if name else None
    if bench is None:
        return Check(metric, Outcome.NO_BENCHMARK, f"No published CPM benchmark for {platform}.")
    if currency != BENCHMARK_CURRENCY:
        return Check(
            metric,
            Outcome.NOT_COMPARABLE,
            f"The {bench.label} CPM benchmark is in US dollars; spend in {currency} is not "
            "converted.",
            bench,
            currency,
        )
    if cpm is None:
        return Check(metric, Outcome.NOT_COMPARABLE, "No impressions, so no CPM.", bench, currency)
    if bench.high is None:
        band = f"from ${bench.low}"
    elif bench.is_point:
        band = f"${bench.low}"
    else:
        band = f"${bench.low}–${bench.high}"
    where = Outcome(cpm_position(cpm, bench).value)
    sentence = f"A CPM of ${cpm} is {where.value} the {band} typical for {bench.label}."
    return Check(metric, where, sentence, bench, currency)


def _reach(s: _Sum, period: tuple[date, date]) -> Reach:
    row = s.only
    if row is None:
        return Reach(
            None,
            None,
            f"not available: reach of {s.rows} rows (days, ad sets or campaigns) does not "
            "add up, because the same people are in several",
        )
    if row.reach is None:
        return Reach(None, None, "not available: the platform reported no reach")
    if (row.start, row.end) != period:
        return Reach(
            None,
            None,
            f"not available: the platform's reach covers {row.start}..{row.end}, not "
            f"{period[0]}..{period[1]}",
        )
    frequency = None
    if row.reach:
        frequency = (Decimal(row.impressions) / row.reach).quantize(Decimal("0.01"))
    return Reach(row.reach, frequency, None)


def _figures(s: _Sum, platform: str, kind: str | None, period: tuple[date, date]) -> Figures:
    spend = tuple(
        CurrencyFigures(
            currency,
            m.spend,
            m.impressions,
            m.clicks,
            cpm := _price(m.spend, m.impressions, 1000),
            _price(m.spend_clicked, m.clicks),
            _cpm_check(platform, kind, currency, cpm),
        )
        for currency, m in sorted(s.money.items())
    )
    return Figures(
        rows=s.rows,
        start=s.start,
        end=s.end,
        impressions=s.impressions,
        clicks=s.clicks,
        clicks_all=s.clicks_all,
        ctr=_rate(s.clicks, s.impressions_clicked),
        ctr_all=_rate(s.clicks_all, s.impressions_all),
        spend=spend,
        reach=_reach(s, period),
        conversions=s.conversions,
        results=tuple(sorted(s.results.items())),
        viewable_impressions=s.viewable,
        views=s.views,
        starts=s.starts,
        completes=s.completes,
    )


def _line(
    s: _Sum,
    platform: str,
    account: str | None,
    campaign: str | None,
    kind: str | None,
    period: tuple[date, date],
) -> Line:
    return Line(
        platform,
        account,
        campaign,
        kind if platform == "google_ads" else None,
        _figures(s, platform, kind, period),
        _ctr_check(platform, kind, s),
    )


def compare(
    rows: Iterable[ReportRow], query: CompareQuery, extra: Iterable[ReportRow] = ()
) -> Comparison:
    """Compare stored rows (and ``extra`` rows of the same shape, such as Backbeat's own
    campaigns) per platform and per campaign, for the rows inside the query's period."""
    platforms: dict[str, _Sum] = {}
    campaigns: dict[tuple[str, str | None, str], _Sum] = {}
    left_out = 0
    for r in chain(rows, extra):
        if query.platforms and r.platform not in query.platforms:
            continue
        if query.campaigns and r.campaign not in query.campaigns:
            continue
        if (query.start and r.end < query.start) or (query.end and r.start > query.end):
            continue  # wholly outside the period
        if (query.start and r.start < query.start) or (query.end and r.end > query.end):
            left_out += 1  # partly outside: a row's figures cannot be split by day
            continue
        platforms.setdefault(r.platform, _Sum()).add(r)
        campaigns.setdefault((r.platform, r.account, r.campaign), _Sum()).add(r)
    if not platforms:
        return Comparison(query.start, query.end, (), (), left_out, _notes((), left_out))
    start = query.start or min(s.start for s in platforms.values())
    end = query.end or max(s.end for s in platforms.values())
    period = (start, end)
    kinds: dict[str, set[str | None]] = {}
    campaign_lines = []
    for (platform, account, name), s in sorted(
        campaigns.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2])
    ):
        kind = s.kind()
        kinds.setdefault(platform, set()).add(kind)
        campaign_lines.append(_line(s, platform, account, name, kind, period))
    platform_lines = []
    for platform, s in sorted(platforms.items()):
        found = kinds[platform]
        kind = next(iter(found)) if len(found) == 1 else "mixed"
        platform_lines.append(_line(s, platform, None, None, kind, period))
    lines = (*platform_lines, *campaign_lines)
    return Comparison(
        start, end, tuple(platform_lines), tuple(campaign_lines), left_out, _notes(lines, left_out)
    )


def _notes(lines: Iterable[Line], left_out: int) -> tuple[str, ...]:
    found = list(lines)
    notes = [LINK_CLICKS_NOTE]
    if any(line.figures.reach.value is None for line in found):
        notes.append(REACH_NOTE)
    if len({c.currency for line in found for c in line.figures.spend}) > 1:
        notes.append(CURRENCY_NOTE)
    notes.append(BENCHMARK_NOTE)
    if left_out:
        notes.append(
            f"{left_out} rows cover days both inside and outside the requested period and "
            "were left out: a row's figures cannot be split by day."
        )
    return tuple(notes)
