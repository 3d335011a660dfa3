"""Header lookups on plain dicts and Starlette Headers; host extraction from page URLs."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from backbeat.tracking.headers import header, pick_headers, url_host


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


def test_query_param_reads_what_starlette_reads() -> None:
    import random

    from starlette.datastructures import QueryParams

    from backbeat.tracking.headers import query_param

    cases = [
        b"p=12,13&u=https%3A%2F%2Fx.test%2Fa%3Fb%3D1", b"u=", b"u", b"p=1&p=2", b"a=1;u=2",
        b"%75=3&u=4", b"u=a+b%20c", b"u=%ff%fe", b"x=1", b"", b"u=caf\xc3\xa9", b"p=1&&u=2&",
    ]
    alphabet = ["u", "p", "=", "&", "%", "2", "f", "+", ";", "a", "%7", "%75", "\xe9"]
    rng = random.Random(1)
    for _ in range(5000):
        n = rng.randint(0, 14)
        cases.append("".join(rng.choice(alphabet) for _ in range(n)).encode("latin-1"))
    for raw in cases:
        expected = QueryParams(raw.decode("latin-1"))
        for name in ("u", "p"):
            assert query_param(raw, name) == expected.get(name), (raw, name)


def test_picked_headers_read_as_starlette_reads_them() -> None:
    raw = [
        (b"host", b"ads.example"),
        (b"user-agent", b"Mozilla/5.0 caf\xe9"),
        (b"purpose", b"prefetch"),
        (b"purpose", b"second"),
        (b"x-other", b"1"),
    ]
    picked = pick_headers(raw, frozenset({b"user-agent", b"purpose", b"dnt"}))
    starlette = Headers(raw=raw)
    assert dict(picked) == {"user-agent": "Mozilla/5.0 caf\u00e9", "purpose": "prefetch"}
    for name in ("User-Agent", "purpose", "PURPOSE", "DNT"):
        assert header(picked, name) == starlette.get(name)
    assert header(picked, "Host") is None  # not picked, so not read
