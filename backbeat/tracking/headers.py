"""Reading request headers the same way from Starlette's `Headers` or a plain dict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from starlette.datastructures import Headers

# A page's tracking requests repeat its query string, so routes remember the parse of
# short ones; longer ones are parsed every time, never cached.
CACHED_QUERY_BYTES = 512


class PickedHeaders(dict[str, str]):
    """Some of a request's headers, keyed by lower-case name (see :func:`pick_headers`)."""


def pick_headers(raw: Iterable[tuple[bytes, bytes]], names: frozenset[bytes]) -> PickedHeaders:
    """The headers in `names` (lower-case) from an ASGI scope's raw header list, in one
    pass; a repeated header keeps its first value, as Starlette's ``Headers.get`` does.
    ASGI servers give header names in lower case, so no name is lower-cased here."""
    out = PickedHeaders()
    for key, value in raw:
        if key in names:
            name = key.decode("latin-1")
            if name not in out:
                out[name] = value.decode("latin-1")
    return out


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name`, matched case-insensitively; None when absent.

    Starlette's `Headers` is already case-insensitive and :class:`PickedHeaders` is keyed
    in lower case; a plain dict (tests, other servers) may use any case, so fall back to a
    scan."""
    if isinstance(headers, Headers):  # one case-insensitive lookup
        return headers.get(name)
    if isinstance(headers, PickedHeaders):  # the beacons' hot path
        return headers.get(name.lower())
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None:
        wanted = name.lower()
        for key, val in headers.items():
            if key.lower() == wanted:
                return val
    return value


def url_host(url: str | None) -> str | None:
    """The lower-case host of an absolute http(s) URL, without port; None if there is none."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return host.rstrip(".")


def query_param(raw: bytes, name: str) -> str | None:
    """The value of `name` in a raw query string, exactly as Starlette's
    ``request.query_params.get(name)`` gives it (``parse_qsl`` with blank values kept, UTF-8
    with replacement, the last of repeated values), without building the whole mapping: the
    hot routes read one or two parameters of query strings that carry a page URL. A query
    string whose parameter names are themselves escaped takes the full parse."""
    text = raw.decode("latin-1")
    found: str | None = None
    plain = "%" not in text and "+" not in text
    for part in text.split("&"):
        key, eq, value = part.partition("=")
        if not plain and ("%" in key or "+" in key):
            return dict(parse_qsl(text, keep_blank_values=True)).get(name)
        if key == name:
            found = value if plain or not eq else unquote_plus(value)
            if not eq:
                found = ""
    return found
