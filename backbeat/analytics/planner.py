"""The budget planner: what a budget should buy before the campaign runs, and how to split it.

`plan` forecasts impressions, clicks and reach as ranges; `recommend_split` suggests how an
artist at a given stage might divide a budget between awareness, traffic and retargeting.

How the forecast is worked out (all money in integer micros, all counts whole numbers):
- Inventory = available daily impressions on the targeted sites x flight days.
- CPM: affordable impressions = floor(budget x 1000 / CPM); delivered = min(affordable,
  inventory). Clicks = impressions x the format's benchmark CTR range (low to high).
- CPC: affordable clicks = floor(budget / CPC). Delivering them takes clicks / CTR
  impressions: fewest at the benchmark's high CTR, most at its low one. Where that is more
  than the inventory, the clicks are what the inventory yields at that CTR instead.
- Reach, upper bound: min(impressions, visitors per day x days). No more people than
  impressions, and no more than the sites' visitors (with cookieless daily ids, as
  Backbeat counts, a visitor on five days counts five times, so this is the countable most).
- Reach, lower bound: impressions / the most one person can see. One person sees at most
  cap x (cap windows in the flight) impressions, and at most the ad slots they load: the
  average visitor loads available / visitors slots a day. Assume the same people return
  every day and the server spreads impressions over page views, and reach is at least
  impressions / min(cap x windows, slots per visitor x days). Bought impressions are at most
  the inventory, so this never exceeds the daily visitors.
- Frequency = impressions / reach, so its range runs the other way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from backbeat.analytics.benchmarks import Benchmark, Metric, benchmark_for
from backbeat.domain.campaign import FrequencyCap, Objective, Pricing
from backbeat.domain.money import MICROS, Micros
from backbeat.domain.rules import Problems
from backbeat.domain.taxonomy import AdFormat
from backbeat.errors import ValidationFailed


@dataclass(frozen=True)
class Range:
    """A forecast range of whole numbers; `high=None` when the source gives only a floor."""

    low: int
    high: int | None

    @property
    def is_exact(self) -> bool:
        return self.high == self.low


@dataclass(frozen=True)
class Forecast:
    """What the budget should buy. `clicks` is None without a CTR benchmark for the format."""

    pricing: Pricing
    inventory: int
    impressions: Range
    clicks: Range | None
    reach: Range
    frequency: tuple[float, float] | None
    spend_micros: Range
    limited_by_inventory: bool
    ctr_benchmark: Benchmark | None
    notes: tuple[str, ...]


def _whole(x: Decimal) -> int:
    return int(x.to_integral_value(rounding=ROUND_HALF_EVEN))


def _positive_int(p: Problems, value: object, field: str, minimum: int = 1) -> bool:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    p.check(ok, field, f"must be a whole number, {minimum} or more")
    return ok


def _check(
    budget_micros: object,
    pricing: object,
    bid_micros: object,
    format: object,
    flight_days: object,
    frequency_cap: object,
    available: object,
    visitors: object,
) -> None:
    p = Problems()
    _positive_int(p, budget_micros, "budget_micros")
    p.check(isinstance(pricing, Pricing), "pricing", "must be cpm or cpc")
    if _positive_int(p, bid_micros, "bid_micros") and pricing is Pricing.CPM:
        assert isinstance(bid_micros, int)
        p.check(bid_micros % 1000 == 0, "bid_micros", "a CPM has at most 3 decimal places")
    p.check(isinstance(format, AdFormat), "format", "must be display, video or native")
    _positive_int(p, flight_days, "flight_days")
    p.check(
        frequency_cap is None or isinstance(frequency_cap, FrequencyCap),
        "frequency_cap",
        "must be a FrequencyCap or None",
    )
    if isinstance(frequency_cap, FrequencyCap):
        frequency_cap.validate(p)
    _positive_int(p, available, "available_daily_impressions", 0)
    _positive_int(p, visitors, "unique_visitors_per_day")
    p.raise_if_any()


def _reach_bounds(
    impressions: int, days: int, cap: FrequencyCap | None, available: int, visitors: int
) -> tuple[int, int]:
    """(lowest, highest) reach for `impressions` (see the module docstring)."""
    if impressions == 0:
        return 0, 0
    high = min(impressions, visitors * days)
    # The most one person can see: their share of the slots, and the cap over the flight.
    most = Decimal(available) * days / visitors
    if cap is not None:
        windows = math.ceil(days * 24 / cap.hours)
        most = min(most, Decimal(cap.impressions * windows))
    most = max(most, Decimal(1))
    return min(high, math.ceil(Decimal(impressions) / most)), high


def plan(
    budget_micros: Micros,
    pricing: Pricing,
    bid_micros: Micros,
    format: AdFormat,
    flight_days: int,
    frequency_cap: FrequencyCap | None,
    available_daily_impressions: int,
    unique_visitors_per_day: int,
    *,
    ctr_benchmark: str | None = None,
) -> Forecast:
    """Forecast a campaign (see the module docstring). `ctr_benchmark` names the benchmark row
    for clicks (`benchmarks.benchmark_for`); by default the format's own."""
    _check(
        budget_micros,
        pricing,
        bid_micros,
        format,
        flight_days,
        frequency_cap,
        available_daily_impressions,
        unique_visitors_per_day,
    )
    bench = benchmark_for(ctr_benchmark or format.value, Metric.CTR)
    if ctr_benchmark is not None and bench is None:
        raise ValidationFailed.one("ctr_benchmark", f"no CTR benchmark named {ctr_benchmark!r}")
    inventory = available_daily_impressions * flight_days
    notes: list[str] = []
    if pricing is Pricing.CPM:
        affordable = budget_micros * 1000 // bid_micros
        imps = min(affordable, inventory)
        limited = imps < affordable
        impressions = Range(imps, imps)
        spend = imps * bid_micros // 1000
        clicks = None
        if bench is not None:
            high = None if bench.high is None else _whole(imps * bench.high)
            clicks = Range(_whole(imps * bench.low), high)
    else:
        if bench is None:
            raise ValidationFailed.one(
                "ctr_benchmark",
                f"no CTR benchmark for {format.value}; name one to forecast CPC impressions",
            )
        affordable = budget_micros // bid_micros
        need_most = math.ceil(affordable / bench.low)
        need_fewest = math.ceil(affordable / bench.high) if bench.high else affordable
        limited = need_most > inventory
        impressions = Range(min(need_fewest, inventory), min(need_most, inventory))
        click_low = min(affordable, _whole(inventory * bench.low))
        click_high = min(affordable, _whole(inventory * bench.high)) if bench.high else affordable
        clicks = Range(click_low, click_high)
        spend = click_high * bid_micros
        if bench.high is None:
            notes.append(
                f"The benchmark for {bench.label} gives only a floor, so the fewest impressions "
                "shown assume every impression could click; expect more."
            )
    most_imps = impressions.high if impressions.high is not None else impressions.low
    args = (flight_days, frequency_cap, available_daily_impressions, unique_visitors_per_day)
    fewest_reach = _reach_bounds(impressions.low, *args)
    most_reach = _reach_bounds(most_imps, *args)
    reach = Range(fewest_reach[0], most_reach[1])
    frequency = None
    if fewest_reach[0] > 0:
        # Frequency is impressions / reach within one scenario, never across the two.
        per_person = [
            (imps / high, imps / low)
            for imps, (low, high) in ((impressions.low, fewest_reach), (most_imps, most_reach))
        ]
        frequency = (min(p[0] for p in per_person), max(p[1] for p in per_person))
    if limited:
        notes.append(
            f"The targeted sites have about {inventory:,} impressions over the flight, fewer "
            "than the budget could buy, so part of the budget would go unspent. Widen "
            "targeting or lengthen the flight to use it."
        )
    if bench is None:
        notes.append(f"There is no published CTR benchmark for {format.value} ads yet.")
    low_spend = spend if pricing is Pricing.CPM else clicks.low * bid_micros if clicks else 0
    return Forecast(
        pricing,
        inventory,
        impressions,
        clicks,
        reach,
        frequency,
        Range(low_spend, spend),
        limited,
        bench,
        tuple(notes),
    )


class ArtistStage(StrEnum):
    NEW = "new"
    GROWING = "growing"
    ESTABLISHED = "established"


@dataclass(frozen=True)
class Share:
    """One objective's share of the budget, in whole percent, with the sensible range."""

    objective: Objective
    percent: int
    low: int
    high: int


@dataclass(frozen=True)
class BudgetSplit:
    stage: ArtistStage
    shares: tuple[Share, ...]
    reasoning: str


_SPLITS: dict[ArtistStage, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]]
_SPLITS = {
    # (percent, low, high) for awareness, traffic, retargeting.
    ArtistStage.NEW: ((65, 60, 70), (35, 30, 40), (0, 0, 0)),
    ArtistStage.GROWING: ((45, 40, 50), (40, 35, 45), (15, 10, 20)),
    ArtistStage.ESTABLISHED: ((25, 20, 30), (45, 40, 50), (30, 25, 35)),
}
_REASONS = {
    ArtistStage.NEW: (
        "Few people know your music yet, so most of the budget should introduce it: "
        "awareness ads put it in front of many listeners cheaply. A smaller traffic campaign "
        "sends the curious ones to your music and tells you which creative works. "
        "Retargeting needs people who already visited, so it waits until you have them."
    ),
    ArtistStage.GROWING: (
        "You have some listeners and are building more: keep introducing yourself, push "
        "more people to listen, and start reminding the people who already clicked."
    ),
    ArtistStage.ESTABLISHED: (
        "People already know you, so awareness matters less and action matters more: most "
        "of the budget goes to traffic (streams, tickets, merch), and a good share to "
        "retargeting the fans who already engaged, who are the most likely to act again."
    ),
}


def recommend_split(stage: ArtistStage | str) -> BudgetSplit:
    """A starting split of budget between objectives for an artist at `stage`.

    A rule of thumb to adjust, not a measured optimum (see docs/analytics.md).
    """
    try:
        st = ArtistStage(stage)
    except ValueError:
        raise ValidationFailed.one("stage", "must be new, growing or established") from None
    shares = tuple(
        Share(obj, *row)
        for obj, row in zip(
            (Objective.AWARENESS, Objective.TRAFFIC, Objective.RETARGETING),
            _SPLITS[st],
            strict=True,
        )
    )
    return BudgetSplit(st, shares, _REASONS[st])


def split_budget(budget_micros: Micros, split: BudgetSplit) -> dict[Objective, Micros]:
    """Divide a budget by the split's percentages, exactly: whole cents each (largest
    remainder), adding up to the budget to the micro."""
    p = Problems()
    _positive_int(p, budget_micros, "budget_micros")
    p.raise_if_any()
    cent = MICROS // 100
    cents, leftover = divmod(budget_micros, cent)
    raw = [(s.objective, cents * s.percent, s.percent) for s in split.shares]
    base = {obj: q // 100 for obj, q, _ in raw}
    short = cents - sum(base.values())
    by_rest = sorted(raw, key=lambda r: (-(r[1] % 100), -r[2]))
    for obj, _, _ in by_rest[:short]:
        base[obj] += 1
    out = {obj: c * cent for obj, c in base.items()}
    largest = max(split.shares, key=lambda s: s.percent).objective
    out[largest] += leftover
    return out
