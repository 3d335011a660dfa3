"""What the decider is asked (:class:`AdRequest`) and what it answers (:class:`Decision`,
:class:`NoFill`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from backbeat.domain.campaign import Campaign, Pricing
from backbeat.domain.creative import Creative
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.money import Micros
from backbeat.domain.taxonomy import DeviceType
from backbeat.errors import ValidationFailed

# A visitor's retargeting audiences: the ids they belong to, or a lazy test (called only for
# audiences a candidate campaign targets, so membership can be looked up on demand).
Audiences = frozenset[int] | Callable[[int], bool]

_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class AdRequest:
    """One ad slot to fill.

    `visitor` is None when the browser asked not to be tracked (DNT or GPC): such a visitor
    is never in an audience and is not frequency-capped (there is nothing to count against).
    `now` defaults to the decider's clock; when given it must be timezone-aware.
    """

    placement_id: int
    page_host: str
    country: str | None
    device: DeviceType
    visitor: str | None = None
    now: datetime | None = None
    audiences: Audiences = frozenset()
    decision_id: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.placement_id, bool) or not isinstance(self.placement_id, int):
            raise ValidationFailed.one("placement_id", "must be an integer")
        if self.now is not None:
            if not isinstance(self.now, datetime):
                raise ValidationFailed.one("now", "must be a timezone-aware datetime")
            offset = self.now.utcoffset()
            if offset is None:
                raise ValidationFailed.one("now", "must be timezone-aware (UTC)")
            if offset != _ZERO:
                object.__setattr__(self, "now", self.now.astimezone(UTC))
        if not isinstance(self.device, DeviceType):
            try:
                object.__setattr__(self, "device", DeviceType(self.device))
            except ValueError:
                names = ", ".join(d.value for d in DeviceType)
                raise ValidationFailed.one("device", f"must be one of {names}") from None
        if self.country is not None:
            if not isinstance(self.country, str):
                raise ValidationFailed.one("country", "must be an ISO 3166-1 alpha-2 code")
            code = self.country.strip().upper()
            if len(code) != 2 or not code.isalpha():
                raise ValidationFailed.one("country", "must be an ISO 3166-1 alpha-2 code")
            object.__setattr__(self, "country", code)
        if self.visitor is not None and (not isinstance(self.visitor, str) or not self.visitor):
            raise ValidationFailed.one("visitor", "must be a non-empty id or None")
        if not isinstance(self.page_host, str) or len(self.page_host) > 253:
            raise ValidationFailed.one("page_host", "must be a host name of at most 253 characters")

    def in_audience(self, audience_id: int) -> bool:
        """True when the (identified) visitor belongs to the audience."""
        if self.visitor is None:
            return False
        aud = self.audiences
        if isinstance(aud, frozenset):
            return audience_id in aud
        return bool(aud(audience_id))


class Decision(NamedTuple):
    """The ad chosen for one slot (an immutable record; a NamedTuple because one is built
    per decision and that is several times cheaper than a frozen dataclass).

    `price_micros` is what one billable event costs the advertiser: an impression for CPM
    (the CPM bid / 1000, exact) or a click for CPC (the CPC bid). `expected_ecpm_micros` is
    the ranking estimate per 1000 impressions (CPM bid, or CPC bid x predicted CTR x 1000),
    rounded to a whole micro: a prediction, never billed. `spend_day` is the campaign-local
    day label at decision time (see :func:`backbeat.serving.localtime.local_day`).
    """

    id: str
    campaign: Campaign
    creative: Creative
    placement: Placement
    site: Site
    pricing: Pricing
    price_micros: Micros
    expected_ecpm_micros: Micros
    predicted_ctr: float  # the chosen creative's posterior mean CTR
    genre: str  # the matched genre, or the site's first genre when the campaign has none
    genre_match: bool  # the campaign targeted genres and the site carries one of them
    visitor: str | None
    now: datetime
    spend_day: str

    @property
    def campaign_id(self) -> int:
        return _ident(self.campaign.id)

    @property
    def creative_id(self) -> int:
        return _ident(self.creative.id)

    @property
    def expected_revenue_micros(self) -> Decimal:
        """Expected revenue per impression in micros, exactly ``expected_ecpm_micros / 1000``."""
        return Decimal(self.expected_ecpm_micros) / 1000


# NoFill reasons for a request-level problem rather than a filter.
UNKNOWN_PLACEMENT = "unknown_placement"
DOMAIN_MISMATCH = "domain_mismatch"


@dataclass(frozen=True, slots=True)
class NoFill:
    """No ad for the slot. `reasons` counts, per filter name, the campaigns that filter removed
    (each campaign is counted once, under the first filter it failed, in filter order), or
    names a request-level problem (``unknown_placement``, ``domain_mismatch``) with count 1."""

    reasons: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """A readable one-liner, e.g. ``no fill: country 12, frequency_cap 1``."""
        if not self.reasons:
            return "no fill: no live campaign"
        return "no fill: " + ", ".join(f"{k} {v}" for k, v in self.reasons.items())


def _ident(value: int | None) -> int:
    return value if value is not None else 0
