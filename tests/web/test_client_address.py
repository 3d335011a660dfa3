"""The visitor's address behind reverse proxies: X-Forwarded-For read from the right, and
only for connections from a trusted proxy."""

from __future__ import annotations

import pytest

from backbeat.config import load_settings, parse_networks
from backbeat.errors import ConfigError
from backbeat.web.client_address import TrustedProxies, forwarded_for, visitor_address

PROXIES = TrustedProxies(parse_networks(["10.0.0.0/8", "127.0.0.1", " ", "fd00::/8"]))


def test_without_trusted_proxies_the_peer_is_the_visitor() -> None:
    assert not TrustedProxies()
    assert TrustedProxies().client("10.0.0.1", "198.51.100.7") == "10.0.0.1"


@pytest.mark.parametrize(
    ("peer", "header", "visitor"),
    [
        ("10.1.2.3", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "198.51.100.7, 10.0.0.9", "198.51.100.7"),  # a chain of our proxies
        ("10.1.2.3", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the visitor's own claim
        ("fd00::1", "2001:db8::7", "2001:db8::7"),
        ("10.1.2.3", None, "10.1.2.3"),
        ("10.1.2.3", "", "10.1.2.3"),
        ("10.1.2.3", "10.0.0.2, 127.0.0.1", "10.1.2.3"),  # only proxies: from inside
        ("10.1.2.3", "198.51.100.7, not-an-ip", "10.1.2.3"),  # garbage: trust none of it
        ("198.51.100.9", "192.0.2.1", "198.51.100.9"),  # not a proxy: header ignored
        ("testclient", "192.0.2.1", "testclient"),
    ],
)
def test_a_trusted_proxys_header_is_read_from_the_right(
    peer: str, header: str | None, visitor: str
) -> None:
    assert PROXIES.client(peer, header) == visitor


def test_a_huge_header_reads_only_the_last_hops() -> None:
    header = ", ".join(["10.0.0.1"] * 100_000 + ["198.51.100.7"])
    assert PROXIES.client("10.0.0.1", header) == "198.51.100.7"
    assert PROXIES.client("10.0.0.1", "198.51.100.7, " + "10.0.0.1, " * 40) == "10.0.0.1"


def test_every_header_line_counts_in_order() -> None:
    raw = [(b"X-Forwarded-For", b"198.51.100.7"), (b"host", b"x"),
           (b"x-forwarded-for", b"10.0.0.3")]
    assert forwarded_for(raw) == "198.51.100.7,10.0.0.3"
    assert forwarded_for([(b"host", b"x")]) is None
    assert visitor_address("10.0.0.4", raw, PROXIES) == "198.51.100.7"
    assert visitor_address("10.0.0.4", raw, TrustedProxies()) == "10.0.0.4"


def test_a_bad_proxy_setting_names_the_variable_and_the_value() -> None:
    with pytest.raises(ConfigError, match=r"BACKBEAT_TRUSTED_PROXIES.*'10\.0\.0\.300'"):
        load_settings(trusted_proxies="10.0.0.1, 10.0.0.300")
    with pytest.raises(ValueError, match="'nope'"):
        parse_networks(["nope"])
    assert load_settings(trusted_proxies="10.0.0.0/8, ::1").trusted_proxies
