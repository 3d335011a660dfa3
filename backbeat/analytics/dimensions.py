"""Report dimensions: their fixed event-table columns and the values a filter may hold.

Identifiers in generated SQL come only from :data:`COLUMNS`, never from input. Filter
values are typed and checked here, before any SQL exists: ids are integers, everything else
must belong to a closed vocabulary or match a strict pattern, so text such as
``"1; DROP TABLE events"`` is refused with a message naming the field (and would be bound
as a parameter anyway).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from backbeat.domain.campaign import Objective
from backbeat.domain.events import DropReason
from backbeat.domain.taxonomy import GENRE_BY_SLUG, AdFormat, DeviceType, check_country
from backbeat.errors import ValidationFailed
from backbeat.tracking.geo import UNKNOWN_COUNTRY

FilterValue = int | str | bool
MAX_FILTER_VALUES = 1000
_INT64_MAX = 2**63 - 1
_SIZE_RE = re.compile(r"[1-9][0-9]{0,4}x[1-9][0-9]{0,4}")


class Dimension(StrEnum):
    CAMPAIGN = "campaign"
    CREATIVE = "creative"
    ADVERTISER = "advertiser"
    SITE = "site"
    PLACEMENT = "placement"
    PUBLISHER = "publisher"
    FORMAT = "format"
    SIZE = "size"
    COUNTRY = "country"
    DEVICE = "device"
    GENRE = "genre"
    OBJECTIVE = "objective"
    GENRE_MATCH = "genre_match"
    DROP_REASON = "drop_reason"


COLUMNS: dict[Dimension, str] = {
    Dimension.CAMPAIGN: "campaign_id",
    Dimension.CREATIVE: "creative_id",
    Dimension.ADVERTISER: "advertiser_id",
    Dimension.SITE: "site_id",
    Dimension.PLACEMENT: "placement_id",
    Dimension.PUBLISHER: "publisher_id",
    Dimension.FORMAT: "format",
    Dimension.SIZE: "size",
    Dimension.COUNTRY: "country",
    Dimension.DEVICE: "device",
    Dimension.GENRE: "genre",
    Dimension.OBJECTIVE: "objective",
    Dimension.GENRE_MATCH: "genre_match",
    Dimension.DROP_REASON: "drop_reason",
}
ID_DIMENSIONS = frozenset(d for d, c in COLUMNS.items() if c.endswith("_id"))


def _id(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or not 0 <= value <= _INT64_MAX:
        raise ValueError("must be a whole number from 0 to 2^63-1")
    return value


def _choice(allowed: list[str]) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = value.strip().lower() if isinstance(value, str) else None
        if text not in allowed:
            raise ValueError("must be one of " + ", ".join(allowed))
        return text

    return check


def _country(value: object) -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    if text == UNKNOWN_COUNTRY:
        return text
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ValueError("must be an ISO 3166-1 alpha-2 code (or ZZ for unknown)")
    try:
        return check_country(text)
    except ValidationFailed:
        raise ValueError("must be an ISO 3166-1 alpha-2 code (or ZZ for unknown)") from None


def _size(value: object) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _SIZE_RE.fullmatch(text):
        raise ValueError("must be WIDTHxHEIGHT such as 300x250")
    return text


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("must be true or false")


_CHECKS: dict[Dimension, Callable[[object], FilterValue]] = {
    **dict.fromkeys(ID_DIMENSIONS, _id),
    Dimension.FORMAT: _choice([f.value for f in AdFormat]),
    Dimension.SIZE: _size,
    Dimension.COUNTRY: _country,
    Dimension.DEVICE: _choice([d.value for d in DeviceType]),
    Dimension.GENRE: _choice(sorted(GENRE_BY_SLUG)),
    Dimension.OBJECTIVE: _choice([o.value for o in Objective]),
    Dimension.GENRE_MATCH: _bool,
    Dimension.DROP_REASON: _choice([r.value for r in DropReason]),
}


def check_filter_value(dimension: Dimension, value: object, field: str) -> FilterValue:
    """One filter value, typed for `dimension`; ValidationFailed naming `field` otherwise."""
    try:
        return _CHECKS[dimension](value)
    except ValueError as exc:
        shown = repr(value)[:40]
        raise ValidationFailed.one(field, f"{shown} {exc}") from None


def check_filter_values(dimension: Dimension, raw: object, field: str) -> frozenset[FilterValue]:
    """The allowed values of a filter: a list, a single value, or a comma-separated string."""
    if isinstance(raw, str):
        items: list[object] = [p for p in raw.split(",") if p.strip()]
    elif isinstance(raw, (list, tuple, set, frozenset)):
        items = list(raw)
    else:
        items = [raw]
    if not items:
        raise ValidationFailed.one(field, "give at least one value")
    if len(items) > MAX_FILTER_VALUES:
        raise ValidationFailed.one(field, f"at most {MAX_FILTER_VALUES} values")
    return frozenset(check_filter_value(dimension, v, f"{field}[{i}]") for i, v in enumerate(items))
