"""Plain inputs for campaign diagnosis, scorecards and trends.

The analytics functions never run SQL. The query runner's results are mapped into these frozen
dataclasses, and every function in `diagnosis`, `scorecard` and `trends` reads only them.
Each class checks itself on construction and raises `ValidationFailed` naming the field, so a
bad mapping fails where it happens rather than deep inside a statistic.

Conventions:
- `impressions` are valid (counted, billable) impressions; invalid traffic is counted apart,
  by reason, in `PlacementFacts.invalid`, so an invalid share is invalid / (valid + invalid).
- `measured` is how many impressions a viewability check could measure; `viewable` how many
  of those met the MRC rule (50% of pixels for 1 s; 2 s for video).
- A frequency bucket `n` holds the impressions that were a visitor's n-th exposure to the
  campaign (within the reach window) and the clicks on those impressions; the last bucket may
  be open-ended ("4 or more").
- Money is integer micros.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from backbeat.domain.campaign import FrequencyCap, Objective, Pacing, Pricing
from backbeat.domain.money import Micros
from backbeat.domain.rules import Problems
from backbeat.domain.taxonomy import AdFormat


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_counts(p: Problems, prefix: str, impressions: object, clicks: object) -> None:
    for name, value in (("impressions", impressions), ("clicks", clicks)):
        p.check(_is_count(value), f"{prefix}{name}", "must be a whole number, 0 or more")
    if _is_count(impressions) and _is_count(clicks):
        assert isinstance(impressions, int) and isinstance(clicks, int)
        p.check(clicks <= impressions, f"{prefix}clicks", "cannot be more than impressions")


def _check_name(p: Problems, field_name: str, value: object) -> None:
    p.check(isinstance(value, str) and bool(value.strip()), field_name, "must be a non-empty name")


@dataclass(frozen=True)
class Counts:
    """Impressions and the clicks on them, for one slice of a campaign."""

    impressions: int
    clicks: int

    def __post_init__(self) -> None:
        p = Problems()
        _check_counts(p, "", self.impressions, self.clicks)
        p.raise_if_any()

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.impressions + other.impressions, self.clicks + other.clicks)


ZERO = Counts(0, 0)


@dataclass(frozen=True)
class GenreSplit:
    """Delivery on sites whose genres match the campaign's music, and on the rest."""

    matched: Counts
    mismatched: Counts


@dataclass(frozen=True)
class CreativeFacts:
    """One creative's delivery; the genre split is optional (the runner may not have it)."""

    creative_id: int
    name: str
    impressions: int
    clicks: int
    by_genre: GenreSplit | None = None

    def __post_init__(self) -> None:
        p = Problems()
        _check_name(p, "name", self.name)
        _check_counts(p, "", self.impressions, self.clicks)
        p.raise_if_any()

    @property
    def counts(self) -> Counts:
        return Counts(self.impressions, self.clicks)


@dataclass(frozen=True)
class PlacementFacts:
    """One placement (ad slot) on one site: delivery, viewability and invalid traffic."""

    placement_id: int
    placement_name: str
    site_id: int
    site_name: str
    impressions: int
    clicks: int
    viewable: int = 0
    measured: int = 0
    invalid: Mapping[str, int] = field(default_factory=dict, hash=False)
    genre_match: bool = True

    def __post_init__(self) -> None:
        p = Problems()
        _check_name(p, "placement_name", self.placement_name)
        _check_name(p, "site_name", self.site_name)
        _check_counts(p, "", self.impressions, self.clicks)
        p.check(_is_count(self.viewable), "viewable", "must be a whole number, 0 or more")
        p.check(_is_count(self.measured), "measured", "must be a whole number, 0 or more")
        if _is_count(self.viewable) and _is_count(self.measured):
            p.check(self.viewable <= self.measured, "viewable", "cannot be more than measured")
        if _is_count(self.measured) and _is_count(self.impressions):
            p.check(self.measured <= self.impressions, "measured", "cannot exceed impressions")
        if not isinstance(self.invalid, Mapping):
            p.add("invalid", "must map a reason to a count")
        else:
            for reason, count in self.invalid.items():
                p.check(_is_count(count), f"invalid.{reason}", "must be a whole number, 0 or more")
            # Keep a private plain-str copy so callers cannot change it underneath us.
            object.__setattr__(self, "invalid", {str(k): v for k, v in self.invalid.items()})
        p.raise_if_any()

    @property
    def counts(self) -> Counts:
        return Counts(self.impressions, self.clicks)

    @property
    def invalid_total(self) -> int:
        return sum(self.invalid.values())


@dataclass(frozen=True)
class FrequencyBucket:
    """Impressions that were a visitor's `exposure`-th view of the campaign, and their clicks.

    `and_more` marks the last, open-ended bucket ("4 or more").
    """

    exposure: int
    impressions: int
    clicks: int
    and_more: bool = False

    def __post_init__(self) -> None:
        p = Problems()
        p.check(
            isinstance(self.exposure, int)
            and not isinstance(self.exposure, bool)
            and self.exposure >= 1,
            "exposure",
            "must be a whole number, 1 or more",
        )
        _check_counts(p, "", self.impressions, self.clicks)
        p.raise_if_any()


@dataclass(frozen=True)
class DayFacts:
    """One day of delivery, in the campaign's time zone. Daily reach never adds up over days."""

    day: date
    impressions: int
    clicks: int
    spend_micros: Micros = 0
    reach: int | None = None

    def __post_init__(self) -> None:
        p = Problems()
        p.check(isinstance(self.day, date) and not isinstance(self.day, datetime), "day", "a date")
        _check_counts(p, "", self.impressions, self.clicks)
        p.check(_is_count(self.spend_micros), "spend_micros", "must be whole micros, 0 or more")
        if self.reach is not None:
            p.check(_is_count(self.reach), "reach", "must be a whole number, 0 or more")
        p.raise_if_any()


@dataclass(frozen=True)
class CampaignFacts:
    """Everything diagnosis, the scorecard and trends read about one campaign.

    `benchmark` names the CTR/CPM benchmark row to compare with (see
    `benchmarks.benchmark_for`); by default the ad format's own row.
    """

    campaign_id: int
    name: str
    objective: Objective
    format: AdFormat
    pricing: Pricing
    bid_micros: Micros
    budget_micros: Micros
    start: datetime
    end: datetime
    impressions: int
    clicks: int
    spend_micros: Micros
    timezone: str = "UTC"
    pacing: Pacing = Pacing.EVEN
    frequency_cap: FrequencyCap | None = None
    reach: int | None = None
    viewable: int = 0
    measured: int = 0
    conversions: int | None = None
    creatives: tuple[CreativeFacts, ...] = ()
    placements: tuple[PlacementFacts, ...] = ()
    genre_split: GenreSplit | None = None
    frequency: tuple[FrequencyBucket, ...] = ()
    daily: tuple[DayFacts, ...] = ()
    benchmark: str | None = None

    def __post_init__(self) -> None:
        p = Problems()
        _check_name(p, "name", self.name)
        p.check(isinstance(self.objective, Objective), "objective", "must be an Objective")
        p.check(isinstance(self.format, AdFormat), "format", "must be an AdFormat")
        p.check(isinstance(self.pricing, Pricing), "pricing", "must be a Pricing")
        p.check(_is_count(self.bid_micros) and self.bid_micros > 0, "bid_micros", "must be > 0")
        p.check(
            _is_count(self.budget_micros) and self.budget_micros > 0, "budget_micros", "must be > 0"
        )
        p.check(_is_count(self.spend_micros), "spend_micros", "must be whole micros, 0 or more")
        if not isinstance(self.start, datetime) or not isinstance(self.end, datetime):
            p.add("start", "start and end must be datetimes")
        elif self.start.tzinfo is None or self.end.tzinfo is None:
            p.add("start", "start and end must carry a UTC offset")
        elif self.end <= self.start:
            p.add("end", "must come after start")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            p.add("timezone", f"unknown IANA time zone {self.timezone!r}")
        _check_counts(p, "", self.impressions, self.clicks)
        p.check(_is_count(self.viewable), "viewable", "must be a whole number, 0 or more")
        p.check(_is_count(self.measured), "measured", "must be a whole number, 0 or more")
        if _is_count(self.viewable) and _is_count(self.measured):
            p.check(self.viewable <= self.measured, "viewable", "cannot be more than measured")
        if self.reach is not None:
            p.check(_is_count(self.reach), "reach", "must be a whole number, 0 or more")
            if _is_count(self.reach) and _is_count(self.impressions):
                p.check(self.reach <= self.impressions, "reach", "cannot exceed impressions")
        if self.conversions is not None:
            p.check(_is_count(self.conversions), "conversions", "must be a whole number, 0 or more")
        self._check_frequency(p)
        days = [d.day for d in self.daily]
        p.check(len(set(days)) == len(days), "daily", "each day may appear only once")
        p.raise_if_any()

    def _check_frequency(self, p: Problems) -> None:
        exposures = [b.exposure for b in self.frequency]
        p.check(exposures == sorted(set(exposures)), "frequency", "exposures must be ascending")
        for i, bucket in enumerate(self.frequency[:-1]):
            p.check(not bucket.and_more, f"frequency[{i}].and_more", "only the last bucket")

    @property
    def counts(self) -> Counts:
        return Counts(self.impressions, self.clicks)

    @property
    def benchmark_name(self) -> str:
        """The benchmark row to compare with: the override, else the ad format."""
        return self.benchmark or self.format.value

    def genre_counts(self) -> GenreSplit | None:
        """The genre split as given, else summed from the placements; None if neither exists."""
        if self.genre_split is not None:
            return self.genre_split
        if not self.placements:
            return None
        matched = mismatched = ZERO
        for pl in self.placements:
            if pl.genre_match:
                matched += pl.counts
            else:
                mismatched += pl.counts
        return GenreSplit(matched, mismatched)
