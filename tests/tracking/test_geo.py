"""Country lookup: iptocc's registry data, the trusted CDN header, and ZZ for the unknown."""

from __future__ import annotations

import pytest

from backbeat.tracking.geo import UNKNOWN_COUNTRY, country_from_ip, request_country


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("2001:4860:4860::8888", "US"),
        ("81.2.69.142", "GB"),
        ("::ffff:81.2.69.142", "GB"),  # IPv4-mapped IPv6, as dual-stack sockets report it
        (" 8.8.8.8 ", "US"),
    ],
)
def test_public_addresses_resolve(ip: str, country: str) -> None:
    assert country_from_ip(ip) == country


@pytest.mark.parametrize(
    "ip", ["10.0.0.1", "192.168.1.20", "127.0.0.1", "::1", "fe80::1", "169.254.1.1",
           "100.64.0.1", "garbage", "", None, "999.1.1.1"]
)
def test_private_and_bad_addresses_are_unknown(ip: str | None) -> None:
    assert country_from_ip(ip) == UNKNOWN_COUNTRY == "ZZ"


def test_trusted_header_wins_when_configured() -> None:
    headers = {"CF-IPCountry": "de"}
    assert request_country("8.8.8.8", headers, "CF-IPCountry") == "DE"
    assert request_country("8.8.8.8", {"cf-ipcountry": "FR"}, "CF-IPCountry") == "FR"


def test_header_is_ignored_when_not_configured() -> None:
    assert request_country("8.8.8.8", {"CF-IPCountry": "DE"}, None) == "US"


@pytest.mark.parametrize("value", ["XX", "T1", "", "Germany", "D", "12"])
def test_non_country_header_values_fall_back_to_the_ip(value: str) -> None:
    assert request_country("8.8.8.8", {"CF-IPCountry": value}, "CF-IPCountry") == "US"
    assert request_country("10.0.0.1", {"CF-IPCountry": value}, "CF-IPCountry") == "ZZ"
