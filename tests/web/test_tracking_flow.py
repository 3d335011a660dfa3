"""Serving and tracking over HTTP, end to end through the real app, DuckDB and spool."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.domain.campaign import Pacing
from backbeat.store.catalog import SqlCatalog
from backbeat.web.app import create_app
from backbeat.web.runtime import Runtime
from tests.web.network import CHROME, PAGE, Network, build_network

BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADERS = {"user-agent": CHROME, "referer": PAGE}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    client: TestClient
    net: Network
    rt: Runtime
    clock: Clock

    def serve(self, *placements: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
        ids = ",".join(str(p) for p in placements)
        resp = self.client.get(f"/serve?p={ids}&u={PAGE}", headers=headers or HEADERS)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def hit(self, url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Any:
        path = url.split("://", 1)[1].split("/", 1)[1]
        return self.client.request(
            method, "/" + path, headers=headers or HEADERS, follow_redirects=False
        )

    def flush(self) -> None:
        deadline = time.monotonic() + 10
        while not self.rt.ingest.idle and time.monotonic() < deadline:
            time.sleep(0.005)
        assert self.rt.writer.flush(timeout=10)

    def events(self) -> list[tuple[Any, ...]]:
        self.flush()
        return self.rt.store.query(
            "SELECT type, valid, drop_reason, price_micros, campaign_id FROM events"
            " WHERE type <> 'decision' ORDER BY id"
        )


@pytest.fixture
def env(settings: Settings, catalog: SqlCatalog) -> Iterator[Env]:
    net = build_network(catalog)
    clock = Clock()
    app = create_app(settings, catalog=catalog, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Env(client, net, app.state.runtime, clock)


def test_serve_fills_each_slot_once_with_signed_links(env: Env) -> None:
    body = env.serve(env.net.top.id or 0, env.net.bottom.id or 0, 999_999)
    ads = body["ads"]
    assert [a["placement"] for a in ads] == [env.net.top.id]  # one campaign, one slot per page
    nofill = {n["placement"]: n["reasons"] for n in body["nofill"]}
    assert "page_duplicate" in nofill[env.net.bottom.id]
    assert nofill[999_999] == {"unknown_placement": 1}
    ad = ads[0]
    assert ad["width"] == 300 and ad["height"] == 250 and ad["alt"] == "Night Drive cover"
    assert "/i/" in ad["imp"] and "/v/" in ad["view"] and "/c/" in ad["click"]
    env.flush()
    decisions = env.rt.store.query("SELECT count(*) FROM events WHERE type = 'decision'")
    assert decisions[0][0] == 2  # the two slots of the site; an unknown placement is none


def test_impression_counts_once_and_bills_cpm_over_1000(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    assert env.hit(ad["imp"]).status_code == 204
    assert env.hit(ad["imp"]).status_code == 204
    assert env.events() == [
        ("impression", True, None, 4_000, env.net.campaign.id),
        ("impression", False, "duplicate", 0, env.net.campaign.id),
    ]
    spend = env.rt.counters.spend(env.net.campaign.id or 0, "x")
    assert spend.total_micros == 4_000


def test_click_redirects_to_catalog_destination_with_utm_and_counts_once(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    env.hit(ad["imp"])
    first = env.hit(ad["click"])
    assert first.status_code == 302
    target = urlsplit(first.headers["location"])
    q = parse_qs(target.query)
    assert target.netloc == "music.example.com" and target.path == "/night-drive"
    assert q["ref"] == ["bb"] and q["utm_source"] == ["backbeat"] and q["utm_medium"] == ["display"]
    assert q["utm_campaign"] == ["night-drive-single"] and "bbclid" in q
    second = env.hit(ad["click"])
    assert second.status_code == 302  # the person still lands
    kinds = [(t, v, r) for t, v, r, _, _ in env.events()]
    assert kinds == [
        ("impression", True, None),
        ("click", True, None),
        ("click", False, "duplicate_click"),
    ]


def test_click_without_impression_is_flagged(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    assert env.hit(ad["click"]).status_code == 302
    assert [(t, v, r) for t, v, r, _, _ in env.events()] == [("click", False, "no_impression")]


def test_bots_get_ads_but_their_events_are_invalid(env: Env) -> None:
    bot = {"user-agent": BOT, "referer": PAGE}
    ad = env.serve(env.net.top.id or 0, headers=bot)["ads"][0]
    env.hit(ad["imp"], headers=bot)
    assert env.events() == [("impression", False, "bot", 0, env.net.campaign.id)]


def test_missing_user_agent_counts_as_bot(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    env.hit(ad["imp"], headers={"referer": PAGE, "user-agent": ""})
    assert env.events()[0][:3] == ("impression", False, "bot")


def test_prefetch_and_head_are_not_stored(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    assert env.hit(ad["imp"], headers={**HEADERS, "sec-purpose": "prefetch"}).status_code == 204
    assert env.hit(ad["imp"], method="HEAD").status_code == 204
    assert env.events() == []
    env.hit(ad["imp"])
    assert env.events()[0][:2] == ("impression", True)  # the real view still counts


def test_domain_mismatch_is_flagged(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    resp = env.client.get(
        "/" + ad["imp"].split("/", 3)[3] + "?u=https://copycat.example.net/page",
        headers={"user-agent": CHROME},
    )
    assert resp.status_code == 204
    assert env.events()[0][:3] == ("impression", False, "domain_mismatch")


def test_tampered_and_expired_links_are_refused_and_tallied(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    token = ad["imp"].rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert env.client.get(f"/i/{forged}", headers=HEADERS).status_code == 403
    assert env.client.get("/i/not-a-token", headers=HEADERS).status_code == 403
    assert env.client.get("/i/" + "x" * 5000, headers=HEADERS).status_code == 403
    assert env.client.get("/i/%FF%FE", headers=HEADERS).status_code == 403
    assert env.client.get(f"/v/{token}", headers=HEADERS).status_code == 403  # wrong kind
    env.clock.now += timedelta(hours=5)
    assert env.client.get(f"/i/{token}", headers=HEADERS).status_code == 410
    assert env.events() == []
    tally = env.rt.rejections.snapshot()
    assert sum(tally.values()) == 6 and tally["expired"] == 1


def test_viewable_needs_an_impression(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    env.hit(ad["view"])
    env.hit(ad["imp"])
    env.hit(ad["view"])
    env.hit(ad["view"])
    assert [(t, v, r) for t, v, r, _, _ in env.events()] == [
        ("viewable", False, "no_impression"),
        ("impression", True, None),
        ("viewable", True, None),
        ("viewable", False, "duplicate"),
    ]


def test_bad_serve_requests_are_4xx(env: Env) -> None:
    for query in ("", "p=", "p=abc", "p=-1", "p=" + ",".join(["1"] * 50), "p=" + "9" * 5000):
        resp = env.client.get(f"/serve?{query}", headers=HEADERS)
        assert resp.status_code == 422, (query, resp.text)
        assert resp.json()["error"]["fields"][0]["field"] == "p"


def test_budget_caps_billing_and_stops_serving(settings: Settings, catalog: SqlCatalog) -> None:
    net = build_network(
        catalog, budget_total_micros=10_000, bid_micros=4_000_000, pacing=Pacing.ASAP
    )
    app = create_app(settings, catalog=catalog)
    with TestClient(app) as client:
        env = Env(client, net, app.state.runtime, Clock())
        billed = []
        for _ in range(4):
            body = env.serve(net.top.id or 0)
            if not body["ads"]:
                assert "budget_total" in body["nofill"][0]["reasons"]
                break
            env.hit(body["ads"][0]["imp"])
        billed = [p for _, v, _, p, _ in env.events() if v]
        assert sum(billed) <= 10_000
        assert billed[:2] == [4_000, 4_000]


def test_frame_tag_renders_a_decided_ad(env: Env) -> None:
    resp = env.client.get(f"/frame/{env.net.top.id}", headers=HEADERS)
    assert resp.status_code == 200 and "data-backbeat-ad=" in resp.text
    assert "/tag.js" in resp.text and "&quot;imp&quot;" in resp.text
    tag = env.client.get("/tag.js")
    assert tag.status_code == 200 and "IntersectionObserver" in tag.text


def test_server_to_server_decisions_need_the_publishers_token(
    env: Env, catalog: SqlCatalog
) -> None:
    from backbeat.domain.accounts import Role
    from backbeat.domain.parties import Publisher
    from backbeat.web.auth import create_user, issue_token

    own = create_user(
        catalog,
        email="pub@example.com",
        password="long password!",
        role=Role.PUBLISHER,
        publisher_id=env.net.publisher.id,
    )
    other_pub = catalog.publishers.add(Publisher("Other"))
    other = create_user(
        catalog,
        email="o@example.com",
        password="long password!",
        role=Role.PUBLISHER,
        publisher_id=other_pub.id,
    )
    _, own_token = issue_token(catalog, own.id or 0, "s2s")
    _, other_token = issue_token(catalog, other.id or 0, "s2s")
    body = {"placements": [env.net.top.id], "page_url": PAGE, "ip": "8.8.8.8", "user_agent": CHROME}
    ok = env.client.post("/decide", json=body, headers={"authorization": f"Bearer {own_token}"})
    assert ok.status_code == 200 and ok.json()["ads"][0]["placement"] == env.net.top.id
    foreign = env.client.post(
        "/decide", json=body, headers={"authorization": f"Bearer {other_token}"}
    )
    assert foreign.status_code == 422
    assert env.client.post("/decide", json=body).status_code == 401
    bad = env.client.post(
        "/decide", json={**body, "extra": 1}, headers={"authorization": f"Bearer {own_token}"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "extra"
    junk = env.client.post(
        "/decide", content=b"\xff\xfe", headers={"authorization": f"Bearer {own_token}"}
    )
    assert junk.status_code == 422


def test_conversion_credits_the_click_through_bbclid(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    env.hit(ad["imp"])
    landing = urlsplit(env.hit(ad["click"]).headers["location"])
    bbclid = parse_qs(landing.query)["bbclid"][0]
    resp = env.client.post(
        "/conv",
        json={"a": env.net.advertiser.id, "v": "25.00", "oid": "order-1", "bbclid": bbclid},
        headers={"user-agent": CHROME},
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["attribution"] == "click_through"
    assert resp.json()["campaign_id"] == env.net.campaign.id
    again = env.client.post(
        "/conv",
        json={"a": env.net.advertiser.id, "v": "25.00", "oid": "order-1", "bbclid": bbclid},
        headers={"user-agent": CHROME},
    )
    assert again.json()["valid"] is False and again.json()["drop_reason"] == "duplicate"
    env.flush()
    rows = env.rt.store.query(
        "SELECT attribution, value_micros, campaign_id, site_id FROM events WHERE type = 'conversion'"
        " ORDER BY id"
    )
    assert rows[0] == ("click_through", 25_000_000, env.net.campaign.id, env.net.site.id)


def test_view_through_conversion_from_the_same_visitor(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    env.hit(ad["imp"])
    pixel = env.client.get(f"/conv?a={env.net.advertiser.id}&v=9.99&oid=o2", headers=HEADERS)
    assert pixel.status_code == 204
    env.flush()
    rows = env.rt.store.query(
        "SELECT attribution, campaign_id FROM events WHERE type = 'conversion'"
    )
    assert rows == [("view_through", env.net.campaign.id)]


def test_bad_conversions_are_4xx(env: Env) -> None:
    cases = [
        ("a=abc", "a"),
        ("", "a"),
        (f"a={env.net.advertiser.id}&cur=EUR", "cur"),
        (f"a={env.net.advertiser.id}&v=lots", "v"),
        (f"a={env.net.advertiser.id}&evil=1", "evil"),
        ("a=424242", "a"),
    ]
    for query, field in cases:
        resp = env.client.get(f"/conv?{query}", headers=HEADERS)
        assert resp.status_code == 422, query
        assert resp.json()["error"]["fields"][0]["field"] == field
    assert env.events() == []


def test_a_link_replayed_after_a_restart_is_still_a_duplicate(
    settings: Settings, catalog: SqlCatalog
) -> None:
    net = build_network(catalog)
    app = create_app(settings, catalog=catalog)
    with TestClient(app) as client:
        env = Env(client, net, app.state.runtime, Clock())
        ad = env.serve(net.top.id or 0)["ads"][0]
        env.hit(ad["imp"])
        env.hit(ad["click"])
        env.flush()
    again = create_app(settings, catalog=catalog)  # in-process counters start empty
    with TestClient(again) as client:
        env = Env(client, net, again.state.runtime, Clock())
        env.hit(ad["imp"])
        env.hit(ad["click"])
        rows = [(t, v, r, p) for t, v, r, p, _ in env.events()]
        restored = env.rt.counters.spend(net.campaign.id or 0, "x").total_micros
    assert restored == 4_000  # spend came back from the events, not billed twice
    assert rows == [
        ("impression", True, None, 4_000),
        ("click", True, None, 0),
        ("impression", False, "duplicate", 0),
        ("click", False, "duplicate_click", 0),
    ]


def test_a_restart_keeps_which_decisions_had_a_valid_impression(
    settings: Settings, catalog: SqlCatalog
) -> None:
    """A click after a restart reads the impression claim the restart restored; a bot's
    impression (invalid, so it never held the claim) does not mark its decision seen."""
    net = build_network(catalog)
    app = create_app(settings, catalog=catalog)
    with TestClient(app) as client:
        env = Env(client, net, app.state.runtime, Clock())
        seen, botted = env.serve(net.top.id or 0)["ads"][0], env.serve(net.top.id or 0)["ads"][0]
        env.hit(seen["imp"])
        env.hit(botted["imp"], headers={"user-agent": BOT, "referer": PAGE})
        env.flush()
    again = create_app(settings, catalog=catalog)
    with TestClient(again) as client:
        env = Env(client, net, again.state.runtime, Clock())
        env.hit(seen["click"])
        env.hit(botted["click"])
        rows = [(t, v, r) for t, v, r, _, _ in env.events()]
    assert sorted(rows, key=str) == sorted(
        [
            ("impression", True, None),
            ("impression", False, "bot"),
            ("click", True, None),
            ("click", False, "no_impression"),
        ],
        key=str,
    )
