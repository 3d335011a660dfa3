"""Advertisers and publishers: the two kinds of tenant on the network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backbeat.domain.rules import Problems, check_name
from backbeat.errors import ValidationFailed


def _check_email(value: str | None, p: Problems, field: str = "contact_email") -> None:
    if value is None or value == "":
        return
    local, _, domain = value.partition("@")
    p.check(bool(local) and "." in domain and len(value) <= 254, field, "not an email address")


@dataclass(frozen=True)
class Advertiser:
    """An artist, a label or a music marketer that buys campaigns."""

    name: str
    contact_email: str | None = None
    id: int | None = None
    created_at: datetime | None = None

    def validate(self) -> Advertiser:
        p = Problems()
        try:
            check_name(self.name)
        except ValidationFailed as exc:
            p.capture(exc)
        _check_email(self.contact_email, p)
        p.raise_if_any()
        return self


@dataclass(frozen=True)
class Publisher:
    """A music blog, lyric site or radio site that sells its ad space through the network."""

    name: str
    contact_email: str | None = None
    revenue_share_pct: int = 70
    id: int | None = None
    created_at: datetime | None = None

    def validate(self) -> Publisher:
        p = Problems()
        try:
            check_name(self.name)
        except ValidationFailed as exc:
            p.capture(exc)
        _check_email(self.contact_email, p)
        p.check(0 <= self.revenue_share_pct <= 100, "revenue_share_pct", "between 0 and 100")
        p.raise_if_any()
        return self
