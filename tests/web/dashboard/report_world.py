"""One populated network for the report page tests: the real app on a migrated SQLite
catalog, its own DuckDB event store, the clock at campaign_world.NOW, and known events.

adv_a's "Night Drive single" (traffic, CPM $4): Cover 10,000 impressions / 150 clicks /
6,000 viewable on Pop Lyrics (pub_p, 70%); Tour poster 2,000 / 6 on Rock Radio (pub_q, 70%)
with 30 bot impressions. adv_a's "Lights awareness" (awareness): 1,200 / 2 on Pop Lyrics.
adv_b's "Granite launch": 1,000 / 5 on Pop Lyrics. Decisions an hour apart over the last 14
days on Pop Lyrics Top, two thirds filled. Every test reading it only reads."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from backbeat.config import Settings, load_settings
from backbeat.domain.accounts import Role
from backbeat.domain.campaign import Objective
from backbeat.domain.events import DropReason
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.store.catalog import SqlCatalog, open_catalog
from backbeat.store.events.protocol import EventStore
from backbeat.web.app import create_app
from backbeat.web.dashboard import session as sessions
from tests.analytics.campaign_world import (
    NOW,
    World,
    add_campaign,
    build_world,
    decisions,
    deliver,
)
from tests.web.conftest import Tenant, _member
from tests.web.conftest import World as Tenants


@dataclass
class Net:
    w: World
    campaign: int  # adv_a's traffic campaign
    awareness: int  # adv_a's awareness campaign
    rival: int  # adv_b's
    store: EventStore


@dataclass
class Env:
    client: TestClient
    tenants: Tenants
    net: Net
    settings: Settings
    catalog: SqlCatalog


def tenants(catalog: SqlCatalog) -> Tenants:
    a = catalog.advertisers.add(Advertiser("Nova Lux (artist)"))
    b = catalog.advertisers.add(Advertiser("Granite Records"))
    p = catalog.publishers.add(Publisher("Lyrics Hub"))
    q = catalog.publishers.add(Publisher("Indie Radio"))
    return Tenants(
        admin=_member(catalog, "admin@example.com", Role.ADMIN),
        adv_a=_member(catalog, "a@example.com", Role.ADVERTISER, advertiser_id=a.id),
        adv_b=_member(catalog, "b@example.com", Role.ADVERTISER, advertiser_id=b.id),
        pub_p=_member(catalog, "p@example.com", Role.PUBLISHER, publisher_id=p.id),
        pub_q=_member(catalog, "q@example.com", Role.PUBLISHER, publisher_id=q.id),
    )


def populate(store: EventStore, catalog: SqlCatalog, t: Tenants) -> Net:
    adv = catalog.advertisers.get(t.adv_a.advertiser_id or 0)
    rival = catalog.advertisers.get(t.adv_b.advertiser_id or 0)
    pub = catalog.publishers.get(t.pub_p.publisher_id or 0)
    radio = catalog.publishers.get(t.pub_q.publisher_id or 0)
    w = build_world(catalog, ("Cover", "Tour poster"), adv, pub, rival, radio)
    c = w.campaign
    deliver(store, c, w.creatives["Cover"], w.pop, w.pop_top, impressions=10_000, clicks=150,
            viewable=6_000)  # fmt: skip
    deliver(store, c, w.creatives["Tour poster"], w.rock, w.rock_side, impressions=2_000,
            clicks=6, invalid={DropReason.BOT: 30})  # fmt: skip
    aware, made = add_campaign(catalog, adv, "Lights awareness", ["Lights"],
                               objective=Objective.AWARENESS)  # fmt: skip
    deliver(store, aware, made["Lights"], w.pop, w.pop_bottom, impressions=1_200, clicks=2)
    other, theirs = add_campaign(catalog, rival, "Granite launch", ["Granite ad"])
    deliver(store, other, theirs["Granite ad"], w.pop, w.pop_top, impressions=1_000, clicks=5)
    decisions(store, w.pop_top, w.pop, filled=224, unfilled=112, campaign=c,
              start=NOW - timedelta(days=14), spacing=timedelta(hours=1))  # fmt: skip
    return Net(w, c.id or 0, aware.id or 0, other.id or 0, store)


def sign_in(env: Env, who: Tenant) -> str:
    """Start a dashboard session for `who` and return its CSRF token.

    The app's clock is fixed at NOW (so the figures are known) but sessions are checked
    against the real time, so the session is made here at the real time rather than through
    the login form (whose own tests live in test_auth_views.py)."""
    env.client.cookies.clear()
    session = sessions.new_session(who.user_id)
    env.client.cookies.set(sessions.COOKIE, sessions.encode(session, env.settings.secret()))
    return session.csrf


def open_env(folder: Path, template: Path) -> Iterator[Env]:
    """The app, its tenants and events; closed when the generator is."""
    settings = load_settings(data_dir=folder, secret_key="s" * 48)
    shutil.copyfile(template, folder / "catalog.db")
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        t = tenants(catalog)
        app = create_app(settings, catalog=catalog, clock=lambda: NOW)
        with TestClient(app, raise_server_exceptions=False) as client:
            store: EventStore = app.state.runtime.store
            yield Env(client, t, populate(store, catalog, t), settings, catalog)
    finally:
        catalog.close()


class _Table(HTMLParser):
    """The text of each row's cells (th and td) of the table with one id."""

    def __init__(self, ident: str) -> None:
        super().__init__()
        self.ident = ident
        self.depth = 0  # > 0 while inside the table
        self.rows: list[list[str]] = []
        self.caption = ""
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.ident):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("th", "td"):
            self._cell = []
        elif self.depth and tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption:
            self.caption += data


def table(html: str, ident: str) -> list[list[str]]:
    """The rows of the table with id `ident` as lists of cell texts (header row first)."""
    parser = _Table(ident)
    parser.feed(html)
    assert parser.rows, f"no table with id {ident!r}"
    return parser.rows


def row(html: str, ident: str, first: str) -> list[str]:
    """The row of table `ident` whose first cell starts with `first`."""
    found = [r for r in table(html, ident) if r and r[0].startswith(first)]
    assert found, f"no row {first!r} in table {ident!r}"
    return found[0]


def chart_spec(html: str, ident: str) -> dict[str, Any]:
    """The JSON a chart's canvas is drawn from."""
    m = re.search(rf'<script type="application/json" id="{ident}-data">(.*?)</script>', html, re.S)
    assert m, f"no chart data for {ident!r}"
    spec: dict[str, Any] = json.loads(m.group(1))
    return spec
