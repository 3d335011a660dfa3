"""The reports API over HTTP on the real app: known answers, tenant scoping of every route,
exports, the planner, the network, publisher earnings, invalid traffic, and bad input
answered with 422 naming the parameter. Events go through the app's own DuckDB store."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from starlette.routing import Mount
from starlette.testclient import TestClient

from backbeat.analytics.export import load_chart_js
from backbeat.analytics.stats import wilson_interval
from backbeat.config import load_settings
from backbeat.domain.accounts import Role
from backbeat.domain.events import DropReason, EventType
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.store.catalog import SqlCatalog, open_catalog
from backbeat.store.events.protocol import EventStore
from backbeat.web.api import reports as reports_api
from backbeat.web.app import create_app
from tests.analytics.campaign_world import (
    NOW,
    PRICE,
    World,
    add_campaign,
    build_world,
    decisions,
    deliver,
)
from tests.web.conftest import World as Tenants
from tests.web.conftest import _member

DAYS = "start=2026-03-01&end=2026-03-20"


def _api(app: Any) -> FastAPI:
    mounted = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/api")
    api = mounted.app
    assert isinstance(api, FastAPI)
    return api


def _has_reports(api: FastAPI) -> bool:
    return any(
        getattr(r, "original_router", None) is reports_api.router  # FastAPI >= 0.160
        or getattr(r, "path", "").startswith("/v1/reports")
        for r in api.routes
    )


@dataclass
class Net:
    w: World
    campaign: int  # adv_a's
    rival: int  # adv_b's
    store: EventStore


@dataclass
class Env:
    client: TestClient
    world: Tenants
    net: Net


def _tenants(catalog: SqlCatalog) -> Tenants:
    """The tenants of tests/web/conftest.py's `world`, made once for this module."""
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


def _populate(store: EventStore, catalog: SqlCatalog, tenants: Tenants) -> Net:
    """adv_a's campaign: 10,000 impressions and 150 clicks on Pop Lyrics (pub_p), 2,000 and 6
    on Rock Radio (pub_q) for a weak creative, bots on Rock Radio; adv_b's campaign: 1,000
    and 5 on Pop Lyrics. Decisions an hour apart over the last 14 days on Pop Lyrics Top."""
    adv = catalog.advertisers.get(tenants.adv_a.advertiser_id or 0)
    rival = catalog.advertisers.get(tenants.adv_b.advertiser_id or 0)
    pub = catalog.publishers.get(tenants.pub_p.publisher_id or 0)
    radio = catalog.publishers.get(tenants.pub_q.publisher_id or 0)
    w = build_world(catalog, ("Cover", "Tour poster"), adv, pub, rival, radio)
    c = w.campaign
    deliver(store, c, w.creatives["Cover"], w.pop, w.pop_top, impressions=10_000, clicks=150)
    deliver(store, c, w.creatives["Tour poster"], w.rock, w.rock_side, impressions=2_000,
            clicks=6, invalid={DropReason.BOT: 30})  # fmt: skip
    other, made = add_campaign(catalog, rival, "Granite launch", ["Granite ad"])
    deliver(store, other, made["Granite ad"], w.pop, w.pop_top, impressions=1_000, clicks=5)
    decisions(store, w.pop_top, w.pop, filled=224, unfilled=112, campaign=c,
              start=NOW - timedelta(days=14), spacing=timedelta(hours=1))  # fmt: skip
    return Net(w, c.id or 0, other.id or 0, store)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, catalog_template: Path) -> Iterator[Env]:
    """One app, network and event set for the module: every test here only reads."""
    data = tmp_path_factory.mktemp("reports")
    settings = load_settings(data_dir=data, secret_key="s" * 48)
    shutil.copyfile(catalog_template, data / "catalog.db")
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        tenants = _tenants(catalog)
        app = create_app(settings, catalog=catalog, clock=lambda: NOW)
        api = _api(app)
        if not _has_reports(api):
            api.include_router(reports_api.router, prefix="/v1")  # until the lead registers it
        with TestClient(app, raise_server_exceptions=False) as client:
            store: EventStore = app.state.runtime.store
            yield Env(client, tenants, _populate(store, catalog, tenants))
    finally:
        catalog.close()


@pytest.fixture
def client(env: Env) -> TestClient:
    return env.client


@pytest.fixture
def world(env: Env) -> Tenants:
    return env.world


@pytest.fixture
def net(env: Env) -> Net:
    return env.net


def get(client: TestClient, who: Any, path: str) -> Any:
    resp = client.get("/api/v1" + path, headers=who.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_ctr_known_answer_through_the_api(client: TestClient, world: Tenants, net: Net) -> None:
    a = world.adv_a
    q = f"/reports/query?metrics=impressions,clicks,ctr&{DAYS}&filter.site={net.w.pop.id}"
    body = get(client, a, q)
    assert body["totals"]["metrics"] == {"impressions": 10_000, "clicks": 150, "ctr": "1.5000"}
    ci = wilson_interval(150, 10_000)
    assert body["totals"]["intervals"]["ctr"] == {"low": f"{ci.low * 100:.4f}",
                                                  "high": f"{ci.high * 100:.4f}"}  # fmt: skip
    overview = get(client, a, "/reports/campaigns")
    (line,) = overview["campaigns"]
    assert (line["id"], line["impressions"], line["clicks"]) == (net.campaign, 12_000, 156)
    assert line["ctr"]["percent"] == "1.3000" and line["spend"] == "48.000000"
    report = get(client, a, f"/reports/campaigns/{net.campaign}")
    by_site = {b["dimension"]: b for b in report["breakdowns"]}["site"]["lines"]
    pop = next(ln for ln in by_site if ln["label"] == "Pop Lyrics")
    assert pop["ctr"]["percent"] == "1.5000" and pop["impressions"] == 10_000


def test_query_is_scoped_to_the_caller(client: TestClient, world: Tenants, net: Net) -> None:
    def total(who: Any, extra: str = "") -> int:
        body = get(client, who, f"/reports/query?metrics=impressions&{DAYS}{extra}")
        value: int = body["totals"]["metrics"]["impressions"]
        return value

    assert total(world.admin) == 13_000
    assert total(world.adv_a) == 12_000
    assert total(world.adv_b) == 1_000
    # A filter on someone else's campaign narrows, never widens: nothing.
    assert total(world.adv_b, f"&filter.campaign={net.campaign}") == 0
    assert total(world.adv_b, f"&filter.advertiser={world.adv_a.advertiser_id}") == 0
    assert total(world.pub_p) == 11_000  # Pop Lyrics: both advertisers
    assert total(world.pub_q) == 2_000  # Rock Radio
    assert total(world.pub_q, f"&filter.site={net.w.pop.id}") == 0
    rows = get(client, world.admin, f"/reports/query?metrics=clicks&dimensions=campaign&{DAYS}")
    assert {r["dimensions"]["campaign"]: r["metrics"]["clicks"] for r in rows["rows"]} == {
        net.campaign: 156, net.rival: 5}  # fmt: skip


BAD = [
    ("metrics=bogus", "metrics[0]"),
    ("metrics=clicks&dimensions=campaign,nope", "dimensions[1]"),
    ("start=2026-03-10&end=2026-03-01", "end"),
    ("start=2019-01-01&end=2026-03-01", "end"),
    ("start=2026-02-30&end=2026-03-01", "start"),
    ("end=2026-03-01", "start"),
    ("filter.country=" + quote("US'; DROP TABLE events; --"), "filter.country[0]"),
    ("filter.campaign=" + quote("1 OR 1=1"), "filter.campaign[0]"),
    ("filter.nope=1", "filter"),
    ("granularity=minute", "granularity"),
    ("timezone=Mars/Olympus", "timezone"),
    ("colour=red", "colour"),
    ("scope=1", "scope"),
    ("compare_previous=maybe", "compare_previous"),
]


@pytest.mark.parametrize(("query", "field"), BAD)
def test_bad_query_input_names_the_parameter(
    client: TestClient, world: Tenants, query: str, field: str
) -> None:
    days = "" if "start=" in query or "end=" in query else DAYS + "&"
    resp = client.get(f"/api/v1/reports/query?{days}{query}", headers=world.adv_a.headers)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_failed"
    assert field in [f["field"] for f in error["fields"]], error


def test_injection_attempts_leave_the_events_alone(
    client: TestClient, world: Tenants, net: Net
) -> None:
    before = net.store.count()
    for value in ("x'); DELETE FROM events; --", "1; DROP TABLE events"):
        for dim in ("country", "site", "genre", "size"):
            resp = client.get(f"/api/v1/reports/query?{DAYS}&filter.{dim}={quote(value)}",
                              headers=world.admin.headers)  # fmt: skip
            assert resp.status_code == 422
    assert net.store.count() == before


def attempts(w: Tenants, n: Net) -> list[tuple[str, str, str, Any, int]]:
    """(method, path, intruder, body, the status they must get)."""
    c = n.campaign
    plan = {"budget": "500", "bid": "2.50", "flight_days": 30, "available_daily_impressions": 10,
            "unique_visitors_per_day": 5}  # fmt: skip
    out: list[tuple[str, str, str, Any, int]] = [
        ("GET", "/reports/campaigns", "pub_p", None, 403),
        ("GET", f"/reports/campaigns?advertiser_id={w.adv_a.advertiser_id}", "adv_b", None, 404),
        ("POST", "/reports/plan", "pub_p", plan, 403),
        ("GET", "/reports/network", "adv_a", None, 403),
        ("GET", "/reports/network", "pub_p", None, 403),
        ("GET", "/reports/ivt", "adv_a", None, 403),
        ("GET", "/reports/ivt", "pub_p", None, 403),
        ("GET", "/reports/publisher", "adv_a", None, 403),
        ("GET", f"/reports/publisher?publisher_id={w.pub_p.publisher_id}", "pub_q", None, 404),
    ]
    for tail in ("", "/diagnosis", "/export.csv", "/export.json", "/export.html"):
        out.append(("GET", f"/reports/campaigns/{c}{tail}", "adv_b", None, 404))
        out.append(("GET", f"/reports/campaigns/{c}{tail}", "pub_p", None, 403))
    return out


def test_intruders_get_403_or_404_on_every_reports_route(
    client: TestClient, world: Tenants, net: Net
) -> None:
    for method, path, who, body, expected in attempts(world, net):
        resp = client.request(method, "/api/v1" + path, json=body,
                              headers=getattr(world, who).headers)  # fmt: skip
        assert resp.status_code == expected, (method, path, who, resp.text)
        assert resp.json()["error"]["code"] in ("forbidden", "not_found")
        assert "Night Drive" not in resp.text


# GET /reports/query is scoped in SQL rather than refused: test_query_is_scoped_to_the_caller.
SCOPED_IN_SQL = {("GET", "/v1/reports/query")}


def test_every_reports_route_has_a_cross_tenant_test(
    client: TestClient, world: Tenants, net: Net
) -> None:
    # The OpenAPI paths list every route, however FastAPI stores included routers.
    paths = _api(client.app).openapi()["paths"]
    routes = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{id}", path))
        for path, item in paths.items()
        if path.startswith("/v1/reports")
        for method in item
    }
    assert len(routes) == 11
    tried = {(m, "/v1" + re.sub(r"/\d+", "/{id}", p.split("?")[0]))
             for m, p, *_ in attempts(world, net)}  # fmt: skip
    assert routes == tried | SCOPED_IN_SQL


def test_owner_and_admin_views_of_campaigns(client: TestClient, world: Tenants, net: Net) -> None:
    admin = get(client, world.admin, "/reports/campaigns")
    assert [c["name"] for c in admin["campaigns"]] == ["Night Drive single", "Granite launch"]
    only_b = get(
        client, world.admin, f"/reports/campaigns?advertiser_id={world.adv_b.advertiser_id}"
    )
    assert [c["name"] for c in only_b["campaigns"]] == ["Granite launch"]
    assert client.get("/api/v1/reports/campaigns?advertiser_id=999999",
                      headers=world.admin.headers).status_code == 404  # fmt: skip
    own = get(client, world.adv_a, f"/reports/campaigns?advertiser_id={world.adv_a.advertiser_id}")
    assert len(own["campaigns"]) == 1
    assert client.get("/api/v1/reports/campaigns/999999",
                      headers=world.admin.headers).status_code == 404  # fmt: skip
    inverted = client.get(f"/api/v1/reports/campaigns/{net.campaign}?start=2026-03-10&end=2026-03-01",
                          headers=world.adv_a.headers)  # fmt: skip
    assert inverted.status_code == 422
    assert inverted.json()["error"]["fields"][0]["field"] == "end"
    bad_day = client.get("/api/v1/reports/campaigns?start=2026-13-01", headers=world.admin.headers)
    assert bad_day.status_code == 422 and bad_day.json()["error"]["fields"][0]["field"] == "start"


def test_diagnosis_names_the_weak_creative(client: TestClient, world: Tenants, net: Net) -> None:
    body = get(client, world.adv_a, f"/reports/campaigns/{net.campaign}/diagnosis")
    weak = [f for f in body["findings"] if f["kind"] == "weak_creative"]
    assert [f["subjects"] for f in weak] == [["Tour poster"]]
    assert weak[0]["evidence"][0]["interval"]["low"] is not None
    assert body["flight_to_date"]["impressions"] == 12_000
    admin = get(
        client, world.admin, f"/reports/campaigns/{net.campaign}/diagnosis?reading_ctr=true"
    )
    assert admin["campaign"]["id"] == net.campaign


def test_exports_over_http(client: TestClient, world: Tenants, net: Net) -> None:
    base = f"/api/v1/reports/campaigns/{net.campaign}"
    h = world.adv_a.headers
    as_csv = client.get(base + "/export.csv", headers=h)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert f'filename="campaign-{net.campaign}.csv"' in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert (rows[0]["section"], rows[0]["impressions"], rows[0]["clicks"]) == ("total", "12000",
                                                                                "156")  # fmt: skip
    as_json = client.get(base + "/export.json", headers=h)
    assert as_json.json() == client.get(base, headers=h).json()
    page = client.get(base + "/export.html", headers=h)
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    chart_js = load_chart_js()
    assert chart_js is not None and chart_js in page.text
    assert not re.search(r"<script[^>]*\bsrc=", page.text)
    assert "Night Drive single" in page.text and "$48.00" in page.text


def test_plan_over_http(client: TestClient, world: Tenants, net: Net) -> None:
    h = world.adv_a.headers
    given = {"budget": "500", "bid": "2.50", "flight_days": 30,
             "available_daily_impressions": 10_000, "unique_visitors_per_day": 2_000,
             "stage": "new"}  # fmt: skip
    body = client.post("/api/v1/reports/plan", json=given, headers=h).json()
    assert body["impressions"] == {"low": 200_000, "high": 200_000}
    assert body["clicks"] == {"low": 1_000, "high": 2_000}
    assert body["measured"] is None
    assert [s["budget"] for s in body["split"]["shares"]] == ["325.000000", "175.000000",
                                                               "0.000000"]  # fmt: skip
    measured = client.post("/api/v1/reports/plan", headers=h, json={
        "budget": "500", "bid": "2.50", "flight_days": 30, "site_ids": [net.w.pop.id]})  # fmt: skip
    assert measured.status_code == 200, measured.text
    m = measured.json()
    assert (m["available_daily_impressions"], m["unique_visitors_per_day"]) == (24, 10)
    assert m["measured"]["decisions"] == 336 and m["limited_by_inventory"] is True
    for payload, field in (
        ({**given, "budget": "abc"}, "budget"),
        ({**given, "bid": "2.5005"}, "bid"),
        ({**given, "flight_days": 0}, "flight_days"),
        ({**given, "genres": ["polka"]}, "genres"),
        ({**given, "colour": "red"}, "colour"),
        ({"budget": "500", "bid": "2.50", "flight_days": 30, "site_ids": [net.w.metal.id]},
         "available_daily_impressions"),
        ({"budget": "500", "bid": "2.50", "flight_days": 30, "site_ids": [987_654]},
         "site_ids[0]"),
    ):  # fmt: skip
        resp = client.post("/api/v1/reports/plan", json=payload, headers=h)
        assert resp.status_code == 422, (payload, resp.text)
        assert field in [f["field"] for f in resp.json()["error"]["fields"]], resp.text


def test_network_publisher_and_ivt(client: TestClient, world: Tenants, net: Net) -> None:
    network = get(client, world.admin, f"/reports/network?{DAYS}")
    assert (network["decisions"], network["filled"]) == (336, 224)
    assert network["fill_rate"]["percent"] == "66.6667"
    assert network["revenue"] == f"{13_000 * PRICE / 1_000_000:.6f}"
    assert network["invalid_rate"]["successes"] == 30
    own = get(client, world.pub_p, f"/reports/publisher?{DAYS}")
    assert own["publisher"]["id"] == world.pub_p.publisher_id
    (site,) = own["sites"]
    assert (site["name"], site["impressions"]) == ("Pop Lyrics", 11_000)
    assert site["earnings"] == "30.800000" and site["ecpm"] == "2.800000"  # 70% of $4.00
    by_admin = get(
        client, world.admin, f"/reports/publisher?{DAYS}&publisher_id={world.pub_q.publisher_id}"
    )
    assert {s["name"] for s in by_admin["sites"]} == {"Rock Radio", "Metal Blog"}
    missing = client.get("/api/v1/reports/publisher", headers=world.admin.headers)
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "publisher_id"
    ivt = get(client, world.admin, f"/reports/ivt?{DAYS}")
    assert ivt["by_reason"] == [{"reason": "bot", "events": 30}]
    assert [s["name"] for s in ivt["sites"]] == ["Rock Radio"]


def test_reports_need_a_token(client: TestClient, net: Net) -> None:
    for path in ("/reports/campaigns", f"/reports/query?{DAYS}", "/reports/network"):
        assert client.get("/api/v1" + path).status_code == 401
    assert net.store.count(type=EventType.IMPRESSION) > 0
