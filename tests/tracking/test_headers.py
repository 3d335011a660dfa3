"""Header lookups on plain dicts and Starlette Headers; host extraction from page URLs."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from backbeat.tracking.headers import header, url_host


def test_plain_dict_lookup_is_case_insensitive() -> None:
    h = {"User-Agent": "ua", "sec-purpose": "prefetch"}
    assert header(h, "user-agent") == "ua"
    assert header(h, "Sec-Purpose") == "prefetch"
    assert header(h, "DNT") is None


def test_starlette_headers() -> None:
    h = Headers(raw=[(b"user-agent", b"ua"), (b"dnt", b"1")])
    assert header(h, "User-Agent") == "ua"
    assert header(h, "DNT") == "1"
    assert header(h, "Sec-GPC") is None


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Beats.Example.com/path?q=1", "beats.example.com"),
        ("http://beats.example.com:8080/", "beats.example.com"),
        ("https://beats.example.com./x", "beats.example.com"),
        ("https://[2001:db8::1]/", "2001:db8::1"),
        ("ftp://beats.example.com/", None),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("https://[broken/", None),
        ("", None),
        (None, None),
    ],
)
def test_url_host(url: str | None, host: str | None) -> None:
    assert url_host(url) == host
