"""Inventory: sites (with their music genres) and placements (the ad slots on them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from backbeat.domain.money import Micros
from backbeat.domain.rules import Problems, check_name
from backbeat.domain.taxonomy import AdFormat, Size, check_country, check_genres, check_size
from backbeat.errors import ValidationFailed

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_domain(value: str) -> str:
    text = value.strip().lower().rstrip(".")
    text = text.removeprefix("www.")
    if not _DOMAIN_RE.match(text):
        raise ValidationFailed.one("domain", f"{value!r} is not a domain name like example.com")
    return text


def domain_matches(page_host: str, site_domain: str) -> bool:
    """True when the page is on the site's domain or one of its subdomains."""
    host = page_host.lower().rstrip(".")
    return host == site_domain or host.endswith("." + site_domain)


@dataclass(frozen=True)
class Site:
    publisher_id: int
    domain: str
    name: str
    country: str
    genres: frozenset[str]
    id: int | None = None
    created_at: datetime | None = None

    def validate(self) -> Site:
        p = Problems()
        checks = (
            lambda: check_name(self.name),
            lambda: normalise_domain(self.domain),
            lambda: check_country(self.country),
            lambda: check_genres(self.genres),
        )
        for fn in checks:
            try:
                fn()
            except ValidationFailed as exc:
                p.capture(exc)
        p.check(bool(self.genres), "genres", "a site needs at least one music genre")
        p.raise_if_any()
        return self


@dataclass(frozen=True)
class Placement:
    """One ad slot. It takes one format and one or more sizes, and sells above its floor."""

    site_id: int
    name: str
    format: AdFormat
    sizes: frozenset[Size]
    floor_cpm_micros: Micros
    active: bool = True
    id: int | None = None
    created_at: datetime | None = None

    def validate(self, network_floor_micros: Micros) -> Placement:
        p = Problems()
        try:
            check_name(self.name)
        except ValidationFailed as exc:
            p.capture(exc)
        p.check(bool(self.sizes), "sizes", "a placement needs at least one size")
        for s in self.sizes:
            try:
                check_size(self.format, s, "sizes")
            except ValidationFailed as exc:
                p.capture(exc)
        p.check(
            self.floor_cpm_micros >= network_floor_micros,
            "floor_cpm",
            f"may not be below the network floor ({network_floor_micros / 1_000_000:.2f})",
        )
        p.check(self.floor_cpm_micros % 1000 == 0, "floor_cpm", "at most 3 decimal places")
        p.check(self.floor_cpm_micros <= 1000 * 1_000_000, "floor_cpm", "above 1000")
        p.raise_if_any()
        return self
