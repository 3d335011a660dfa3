"""Country of a request: a trusted CDN header when configured, else the IP's registry country.

The IP lookup uses ``iptocc`` (regional-registry allocation data shipped inside the
wheel, no download at run time). Registry data is where a block was *allocated*, which
matches the user's country for most consumer ranges; a CDN that geolocates (Cloudflare's
``CF-IPCountry``, for instance) is better when it sits in front, so
``BACKBEAT_TRUSTED_COUNTRY_HEADER`` names that header. Only set it when every request
passes through that CDN, or clients can pick their own country.

Anything unknown — private, loopback or malformed addresses, registry codes that are not
ISO 3166-1 countries (``EU``, ``AP``), Cloudflare's ``XX``/``T1`` — becomes ``ZZ``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from iptocc import country_code

from backbeat.domain.taxonomy import check_country
from backbeat.errors import ValidationFailed
from backbeat.tracking.headers import header

UNKNOWN_COUNTRY = "ZZ"


def _iso(code: str | None) -> str | None:
    if not code or len(code) != 2:
        return None
    try:
        return check_country(code)
    except ValidationFailed:
        return None


def country_from_ip(ip: str | None) -> str:
    """ISO alpha-2 country of a public IPv4/IPv6 address, or ``ZZ``."""
    if not ip:
        return UNKNOWN_COUNTRY
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return UNKNOWN_COUNTRY
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if not addr.is_global:
        return UNKNOWN_COUNTRY
    return _iso(country_code(str(addr))) or UNKNOWN_COUNTRY


def request_country(
    ip: str | None, headers: Mapping[str, str], trusted_header: str | None = None
) -> str:
    """The country for an event: the trusted header's value when it is a real country
    code, else the IP lookup."""
    if trusted_header:
        code = _iso((header(headers, trusted_header) or "").strip())
        if code is not None:
            return code
    return country_from_ip(ip)
