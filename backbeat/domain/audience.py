"""Retargeting audiences: rules over past engagement with an advertiser's campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from backbeat.domain.rules import Problems, check_name
from backbeat.errors import ValidationFailed

MAX_LOOKBACK_DAYS = 180  # the longest window Meta allows for website custom audiences


class Engagement(StrEnum):
    CLICKED = "clicked"
    VIEWED = "viewed"  # valid impressions
    CONVERTED = "converted"


@dataclass(frozen=True)
class AudienceRule:
    """A visitor is a member when they `engagement`-ed `campaign_id` at least `min_count`
    times within the last `days` days."""

    engagement: Engagement
    campaign_id: int
    days: int
    min_count: int = 1

    def describe(self) -> str:
        times = "" if self.min_count == 1 else f" at least {self.min_count} times"
        return (
            f"{self.engagement.value} campaign {self.campaign_id}{times}"
            f" in the last {self.days} days"
        )


@dataclass(frozen=True)
class Audience:
    advertiser_id: int
    name: str
    rule: AudienceRule
    id: int | None = None
    created_at: datetime | None = None

    def validate(self) -> Audience:
        p = Problems()
        try:
            check_name(self.name)
        except ValidationFailed as exc:
            p.capture(exc)
        lookback_ok = 1 <= self.rule.days <= MAX_LOOKBACK_DAYS
        p.check(lookback_ok, "rule.days", f"between 1 and {MAX_LOOKBACK_DAYS}")
        p.check(1 <= self.rule.min_count <= 1000, "rule.min_count", "between 1 and 1000")
        p.raise_if_any()
        return self
