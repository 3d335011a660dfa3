"""Per-campaign facts precomputed once per index build, so a decision reads attributes
instead of re-deriving them from the domain objects."""

from __future__ import annotations

from collections.abc import Sequence

from backbeat.domain.campaign import Campaign, Objective, Pacing, Pricing
from backbeat.domain.creative import Creative
from backbeat.domain.money import Micros, cost_per_impression
from backbeat.domain.taxonomy import AdFormat, DeviceType, Size
from backbeat.serving.ranking import REACH_WINDOW_S


class CampaignEntry:
    """A live campaign as the decider sees it. Empty targeting sets are stored as None
    ("any"), so a check is one `is None` test in the common case."""

    __slots__ = (
        "audiences",
        "awareness",
        "bid",
        "budget_daily",
        "budget_total",
        "campaign",
        "cap",
        "countries",
        "cpc",
        "creatives",
        "days",
        "devices",
        "end",
        "even",
        "exposure_window_s",
        "formats",
        "genres",
        "hours",
        "id",
        "sites_exclude",
        "sites_include",
        "sizes",
        "start",
        "tz",
        "unit_price",
    )

    def __init__(self, campaign: Campaign, creatives: Sequence[Creative]) -> None:
        t = campaign.targeting
        self.campaign = campaign
        self.id: int = campaign.id if campaign.id is not None else 0
        self.tz: str = campaign.timezone
        self.start: float = campaign.start.timestamp()
        self.end: float = campaign.end.timestamp()
        self.genres: frozenset[str] | None = t.genres or None
        self.countries: frozenset[str] | None = t.countries or None
        self.devices: frozenset[DeviceType] | None = t.devices or None
        self.days: frozenset[int] | None = t.days or None
        self.hours: frozenset[int] | None = t.hours or None
        self.sites_include: frozenset[int] | None = t.sites_include or None
        self.sites_exclude: frozenset[int] | None = t.sites_exclude or None
        self.formats: frozenset[AdFormat] | None = t.formats or None
        self.sizes: frozenset[Size] | None = t.sizes or None
        self.audiences: tuple[int, ...] | None = tuple(sorted(t.audiences)) or None
        self.cpc: bool = campaign.pricing is Pricing.CPC
        self.bid: Micros = campaign.bid_micros
        # The price of one billable event: an impression for CPM, a click for CPC.
        self.unit_price: Micros = campaign.bid_micros if self.cpc else cpm_unit(campaign)
        self.budget_total: Micros = campaign.budget_total_micros
        self.budget_daily: Micros | None = campaign.budget_daily_micros
        self.even: bool = campaign.pacing is Pacing.EVEN
        self.cap: int | None = (
            campaign.frequency_cap.impressions if campaign.frequency_cap else None
        )
        self.awareness: bool = campaign.objective is Objective.AWARENESS
        # One window per campaign serves both the cap and awareness's "reached yet?" test.
        self.exposure_window_s: int = (
            campaign.frequency_cap.hours * 3600 if campaign.frequency_cap else REACH_WINDOW_S
        )
        self.creatives: tuple[Creative, ...] = tuple(creatives)

    def needs_exposures(self) -> bool:
        return self.cap is not None or self.awareness

    def __repr__(self) -> str:
        return f"CampaignEntry(id={self.id}, name={self.campaign.name!r})"


def cpm_unit(campaign: Campaign) -> Micros:
    """Per-impression price of a CPM campaign; bids off the 1/1000 grid round down."""
    bid = campaign.bid_micros
    return cost_per_impression(bid - bid % 1000)


class Candidate:
    """A campaign together with its approved creatives that fit one (format, sizes) slot
    shape. Shared by every placement of that shape."""

    __slots__ = ("creatives", "entry", "id")

    def __init__(self, entry: CampaignEntry, creatives: tuple[Creative, ...]) -> None:
        self.entry = entry
        self.id = entry.id
        self.creatives = creatives

    def __repr__(self) -> str:
        return f"Candidate(campaign={self.id}, creatives={[c.id for c in self.creatives]})"
