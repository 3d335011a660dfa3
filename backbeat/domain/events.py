"""The event schema shared by tracking, the event store and analytics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventType(StrEnum):
    DECISION = "decision"
    IMPRESSION = "impression"
    VIEWABLE = "viewable"
    CLICK = "click"
    CONVERSION = "conversion"


class DropReason(StrEnum):
    """Why an event was kept but flagged invalid (never billed). See docs/measurement.md."""

    BOT = "bot"
    PREFETCH = "prefetch"
    DUPLICATE = "duplicate"
    NO_IMPRESSION = "no_impression"
    DUPLICATE_CLICK = "duplicate_click"
    RATE = "rate"
    DOMAIN_MISMATCH = "domain_mismatch"
    NO_DECISION = "no_decision"
    BUDGET_EXHAUSTED = "budget_exhausted"


class Attribution(StrEnum):
    CLICK_THROUGH = "click_through"
    VIEW_THROUGH = "view_through"
    UNATTRIBUTED = "unattributed"


# Not frozen: one is built for every decision and beacon, and a frozen dataclass's
# __init__ (object.__setattr__ per field) costs about 2.5x a plain one's. Treat it as a value.
@dataclass(slots=True)
class Event:
    """One row in the event store. Ids of catalog objects are integers; 0 means "none"."""

    id: str  # UUIDv7, unique; replay is idempotent on it
    ts: datetime  # UTC
    type: EventType
    valid: bool
    decision_id: str
    campaign_id: int
    creative_id: int
    advertiser_id: int
    site_id: int
    publisher_id: int
    placement_id: int
    visitor: str
    country: str
    device: str
    format: str
    size: str
    genre: str
    genre_match: bool
    objective: str
    price_micros: int = 0  # what this event bills: CPM/1000 on impressions, CPC on clicks
    drop_reason: DropReason | None = None
    attribution: Attribution | None = None
    value_micros: int = 0  # conversion value reported by the advertiser
