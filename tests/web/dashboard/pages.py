"""Helpers for dashboard page tests: sign in, read the CSRF token, and read forms out of the
returned HTML the way a browser would (hidden fields, element attributes)."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser
from typing import Any

from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.web.dashboard.session import decode
from tests.web.conftest import PASSWORD


def login(client: TestClient, settings: Settings, email: str, password: str = PASSWORD) -> str:
    """Sign in (dropping any earlier session) and return the session's CSRF token."""
    client.cookies.clear()
    resp = client.post(
        "/login", data={"email": email, "password": password}, follow_redirects=False
    )
    assert resp.status_code == 303, resp.text
    session = decode(client.cookies.get("bb_session"), settings.secret())
    assert session is not None
    return session.csrf


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], str | None]] = []
        self._forms: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._forms.append(attributes.get("id"))
        form = self._forms[-1] if self._forms else None
        self.elements.append((tag, attributes, form))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._forms:
            self._forms.pop()


def elements(html: str) -> list[tuple[str, dict[str, str], str | None]]:
    """Every start tag as (tag, attributes, id of the enclosing form)."""
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def element(html: str, ident: str) -> dict[str, str]:
    """The attributes of the element with id `ident` (fails when there is none)."""
    found = [attrs for _, attrs, _ in elements(html) if attrs.get("id") == ident]
    assert found, f"no element with id {ident!r}"
    return found[0]


def hidden_fields(html: str, form_id: str = "wizard-form") -> list[tuple[str, str]]:
    """The hidden inputs of one form, in order, as a browser would post them."""
    return [
        (a["name"], a.get("value", ""))
        for tag, a, form in elements(html)
        if tag == "input" and form == form_id and a.get("type") == "hidden"
    ]


def as_form(pairs: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    """Pairs as the dict `TestClient.post(data=...)` takes (repeated names become lists)."""
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            current = out[name]
            out[name] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            out[name] = value
    out.update(extra)
    return out


def described_by(html: str, ident: str) -> list[str]:
    """The ids the element `ident` is described by."""
    return element(html, ident).get("aria-describedby", "").split()


def code_text(html: str, ident: str) -> str:
    """The text of the <code> element with id `ident`, unescaped as a browser shows it."""
    start = html.index(f'id="{ident}">') + len(f'id="{ident}">')
    raw = html[start : html.index("</code>", start)]
    assert "<" not in raw, "markup inside the snippet: it must be escaped text"
    return unescape(raw)
