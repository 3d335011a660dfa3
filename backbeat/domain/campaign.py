"""Campaigns: objective, pricing, budget, flight, lifecycle, pacing, frequency cap, targeting."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from backbeat.domain.money import MICROS, Micros
from backbeat.domain.rules import Problems, check_name
from backbeat.domain.taxonomy import AdFormat, DeviceType, Size
from backbeat.errors import IllegalTransition, ValidationFailed

# Ceilings that catch typos (an extra zero or three) rather than limit real campaigns.
MAX_TOTAL_BUDGET: Micros = 10_000_000 * MICROS
MAX_CPM_BID: Micros = 1_000 * MICROS
MAX_CPC_BID: Micros = 100 * MICROS


class Objective(StrEnum):
    """Awareness buys exposure (impressions, reach); traffic buys clicks ("action");
    retargeting buys action from people who already engaged."""

    AWARENESS = "awareness"
    TRAFFIC = "traffic"
    RETARGETING = "retargeting"


class Pricing(StrEnum):
    CPM = "cpm"
    CPC = "cpc"


class Pacing(StrEnum):
    EVEN = "even"
    ASAP = "asap"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ARCHIVED = "archived"


TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ACTIVE, CampaignStatus.ARCHIVED}),
    CampaignStatus.ACTIVE: frozenset(
        {CampaignStatus.PAUSED, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED}
    ),
    CampaignStatus.PAUSED: frozenset(
        {CampaignStatus.ACTIVE, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED}
    ),
    CampaignStatus.COMPLETED: frozenset({CampaignStatus.ARCHIVED}),
    CampaignStatus.ARCHIVED: frozenset(),
}


@dataclass(frozen=True)
class FrequencyCap:
    """At most `impressions` per visitor within any `hours` window."""

    impressions: int
    hours: int

    def validate(self, problems: Problems, prefix: str = "frequency_cap") -> None:
        problems.check(1 <= self.impressions <= 1000, f"{prefix}.impressions", "between 1 and 1000")
        problems.check(1 <= self.hours <= 24 * 90, f"{prefix}.hours", "between 1 and 2160")


@dataclass(frozen=True)
class Targeting:
    """Who may see the campaign. An empty set means "any"."""

    genres: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    devices: frozenset[DeviceType] = frozenset()
    sites_include: frozenset[int] = frozenset()
    sites_exclude: frozenset[int] = frozenset()
    formats: frozenset[AdFormat] = frozenset()
    sizes: frozenset[Size] = frozenset()
    days: frozenset[int] = frozenset()  # 0 = Monday … 6 = Sunday, in the campaign's time zone
    hours: frozenset[int] = frozenset()  # 0–23, in the campaign's time zone
    audiences: frozenset[int] = frozenset()

    def validate(self, problems: Problems, prefix: str = "targeting") -> None:
        problems.check(all(0 <= d <= 6 for d in self.days), f"{prefix}.days", "0 (Mon) to 6 (Sun)")
        problems.check(all(0 <= h <= 23 for h in self.hours), f"{prefix}.hours", "0 to 23")
        overlap = self.sites_include & self.sites_exclude
        problems.check(
            not overlap, f"{prefix}.sites_exclude", f"sites {sorted(overlap)} are also included"
        )


@dataclass(frozen=True)
class Campaign:
    advertiser_id: int
    name: str
    objective: Objective
    pricing: Pricing
    bid_micros: Micros
    budget_total_micros: Micros
    start: datetime
    end: datetime
    timezone: str = "UTC"
    budget_daily_micros: Micros | None = None
    pacing: Pacing = Pacing.EVEN
    frequency_cap: FrequencyCap | None = None
    targeting: Targeting = field(default_factory=Targeting)
    status: CampaignStatus = CampaignStatus.DRAFT
    id: int | None = None
    created_at: datetime | None = None

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def validate(self, floor_cpm_micros: Micros) -> Campaign:
        """Check every rule; raise one ValidationFailed listing all problems."""
        p = Problems()
        try:
            check_name(self.name)
        except ValidationFailed as exc:
            p.capture(exc)
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            p.add("timezone", f"unknown IANA time zone {self.timezone!r}")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            p.add("start", "start and end must carry a UTC offset")
        elif self.end <= self.start:
            p.add("end", "must come after start")
        p.check(self.bid_micros > 0, "bid", "must be positive")
        if self.pricing is Pricing.CPM:
            p.check(
                self.bid_micros >= floor_cpm_micros,
                "bid",
                f"CPM bid is below the network floor of {floor_cpm_micros / MICROS:.2f}",
            )
            p.check(self.bid_micros <= MAX_CPM_BID, "bid", "CPM bid above 1000 is not accepted")
            p.check(self.bid_micros % 1000 == 0, "bid", "CPM bid has at most 3 decimal places")
        else:
            p.check(self.bid_micros <= MAX_CPC_BID, "bid", "CPC bid above 100 is not accepted")
        p.check(self.budget_total_micros > 0, "budget_total", "must be positive")
        p.check(self.budget_total_micros <= MAX_TOTAL_BUDGET, "budget_total", "above 10,000,000")
        if self.budget_daily_micros is not None:
            p.check(self.budget_daily_micros > 0, "budget_daily", "must be positive")
            p.check(
                self.budget_daily_micros <= self.budget_total_micros,
                "budget_daily",
                "may not exceed the total budget",
            )
        if self.frequency_cap is not None:
            self.frequency_cap.validate(p)
        self.targeting.validate(p)
        p.raise_if_any()
        return self

    def can_transition(self, target: CampaignStatus) -> bool:
        return target in TRANSITIONS[self.status]

    def transition(
        self, target: CampaignStatus, *, approved_creatives: int, now: datetime | None = None
    ) -> Campaign:
        """Return the campaign in `target` status, or raise IllegalTransition / ValidationFailed."""
        if target == self.status or not self.can_transition(target):
            raise IllegalTransition("campaign", self.status.value, target.value)
        if target is CampaignStatus.ACTIVE:
            if approved_creatives < 1:
                raise ValidationFailed.one(
                    "status", "a campaign needs at least one approved creative to go active"
                )
            moment = now or datetime.now(UTC)
            if self.end <= moment:
                raise ValidationFailed.one("end", "the flight has ended; extend it to activate")
        return replace(self, status=target)

    def is_live(self, now: datetime) -> bool:
        """Active and inside its flight window."""
        return self.status is CampaignStatus.ACTIVE and self.start <= now < self.end

    @property
    def flight_seconds(self) -> float:
        return (self.end - self.start).total_seconds()
