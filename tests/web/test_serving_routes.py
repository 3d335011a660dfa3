"""GET /serve's front (`ServeRoute`): it answers exactly as the Starlette endpoint `serve`
does (status, headers, body), takes only GET and HEAD on `/serve`, and stores the same
decision events."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import orjson
import pytest
from starlette.requests import Request
from starlette.testclient import TestClient
from starlette.types import Message

from backbeat.domain.accounts import Role
from backbeat.domain.creative import AssetKind
from backbeat.store.catalog import SqlCatalog
from backbeat.tracking.headers import CACHED_QUERY_BYTES
from backbeat.web import serving_routes
from backbeat.web.auth import create_user, issue_token
from backbeat.web.serving_routes import serve, serve_asgi
from tests.web.network import CHROME, PAGE, Network
from tests.web.test_tracking_flow import HEADERS, Env, env

__all__ = ["env"]  # the fixture, shared with the flow tests

# Fields of an ad that are the same in two answers to one request (ids and links are new
# each time).
STABLE = ("placement", "format", "kind", "width", "height", "src", "alt")


def _scope(env: Env, query: str, headers: dict[str, str], method: str = "GET") -> dict[str, Any]:
    return {
        "type": "http", "http_version": "1.1", "method": method, "scheme": "http",
        "path": "/serve", "raw_path": b"/serve", "root_path": "",
        "query_string": query.encode("latin-1"),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in headers.items()],
        "client": ("203.0.113.9", 5000), "server": ("127.0.0.1", 80), "app": env.client.app,
    }


def _run(call: Any) -> Any:
    # A thread of its own: a browser test's sync Playwright may hold this one's loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, call()).result()


def _front(scope: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    _run(lambda: serve_asgi(dict(scope), receive, send))
    start, body = sent
    assert start["type"] == "http.response.start" and body["type"] == "http.response.body"
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    assert len({k for k, _ in headers}) == len(headers), "a header sent twice"
    return start["status"], dict(headers), body["body"]


def _route(scope: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    async def call() -> Any:
        return await serve(Request(dict(scope)))

    resp = _run(call)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.raw_headers]
    return resp.status_code, dict(headers), resp.body


def _same(a: tuple[int, dict[str, str], bytes], b: tuple[int, dict[str, str], bytes]) -> None:
    (status_a, headers_a, body_a), (status_b, headers_b, body_b) = a, b
    assert status_a == status_b
    assert headers_a.pop("content-length") == str(len(body_a))
    assert headers_b.pop("content-length") == str(len(body_b))
    assert headers_a == headers_b
    doc_a, doc_b = orjson.loads(body_a), orjson.loads(body_b)
    if status_a != 200:
        assert doc_a == doc_b
        return
    assert doc_a["nofill"] == doc_b["nofill"]
    assert [{k: ad[k] for k in STABLE} for ad in doc_a["ads"]] == [
        {k: ad[k] for k in STABLE} for ad in doc_b["ads"]
    ]
    assert [sorted(ad) for ad in doc_a["ads"]] == [sorted(ad) for ad in doc_b["ads"]]


def test_the_front_answers_as_the_endpoint_does(env: Env) -> None:
    top, bottom = env.net.top.id or 0, env.net.bottom.id or 0
    page = quote(PAGE, safe="")
    queries = [
        f"p={top}&u={page}",
        f"p={top},{bottom},999999&u={page}",
        f"p={top}",  # the page from the Referer, when there is one
        f"p={top}&u=not-a-url",
        f"p={top}&u={page}&x=" + "a" * 600,  # too long to be remembered: parsed each time
        f"p={top}&u=https%3A%2F%2Felsewhere.example%2F",  # another site: domain mismatch
        "p=999999",
        "p=abc",  # 400s, with the field and the reason
        "p=",
        "p=" + ",".join(str(i) for i in range(1, 20)),
        "",
        "p=%31%32&%70=7",  # escaped names take the full parse
    ]
    headers = [
        HEADERS,
        {"user-agent": CHROME},
        {**HEADERS, "origin": "https://beats.example.com"},
        {"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)", "referer": PAGE},
        {"user-agent": CHROME, "referer": PAGE, "dnt": "1", "origin": "null"},
        {"referer": PAGE},
        {},
    ]
    for query in queries:
        for h in headers:
            for method in ("GET", "HEAD"):
                scope = _scope(env, query, h, method)
                _same(_front(scope), _route(scope))


def test_a_cookie_mode_visitor_gets_the_cookie_from_the_front(
    cookie_mode: tuple[TestClient, Network]
) -> None:
    client, net = cookie_mode
    first = client.get(f"/serve?p={net.top.id}&u={PAGE}", headers=HEADERS)
    vid = first.cookies["bb_vid"]
    assert first.status_code == 200 and vid.startswith("c")
    assert "httponly" in first.headers["set-cookie"].lower()
    again = client.get(
        f"/serve?p={net.top.id}&u={PAGE}", headers={**HEADERS, "cookie": f"bb_vid={vid}"}
    )
    assert again.status_code == 200 and "set-cookie" not in again.headers


def test_only_get_and_head_on_serve_take_the_front(env: Env) -> None:
    top = env.net.top.id or 0
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        resp = env.client.request(method, f"/serve?p={top}", headers=HEADERS)
        assert resp.status_code == 405, method
        assert set(resp.headers["allow"].split(", ")) == {"GET", "HEAD"}
    head = env.client.head(f"/serve?p={top}&u={quote(PAGE, safe='')}", headers=HEADERS)
    assert head.status_code == 200 and head.headers["content-type"] == "application/json"
    assert env.client.get("/serve/x", headers=HEADERS).status_code == 404
    assert env.client.get("/healthz").status_code == 200  # the rest of the app still answers


def test_each_slot_of_a_served_page_is_one_decision_event(env: Env) -> None:
    top, bottom = env.net.top.id or 0, env.net.bottom.id or 0
    for _ in range(3):  # the same query string again: remembered, and answered the same
        body = env.serve(top, bottom, 999_999)
        assert [a["placement"] for a in body["ads"]] == [top]
        assert {n["placement"] for n in body["nofill"]} == {bottom, 999_999}
    by_referer = env.client.get(f"/serve?p={top}", headers=HEADERS).json()  # no u=
    assert [a["placement"] for a in by_referer["ads"]] == [top]
    no_page = env.client.get(f"/serve?p={top}", headers={"user-agent": CHROME}).json()
    assert no_page["ads"] == [] and "domain_mismatch" in no_page["nofill"][0]["reasons"]
    bad = env.client.get("/serve?p=abc", headers=HEADERS)
    again = env.client.get("/serve?p=abc", headers=HEADERS)
    assert bad.status_code == again.status_code == 422
    assert bad.json() == again.json() and bad.json()["error"]["fields"][0]["field"] == "p"
    env.flush()
    rows = env.rt.store.query(
        "SELECT placement_id, campaign_id > 0 FROM events WHERE type = 'decision'"
    )
    # each known slot of each view once; the unknown placement never (it is not inventory)
    expected = [(top, True), (bottom, False)] * 3 + [(top, True), (top, False)]
    assert sorted(rows) == sorted(expected)


def test_short_query_strings_are_remembered_and_long_ones_are_not(env: Env) -> None:
    cache = serving_routes._serve_query_cached
    cache.cache_clear()
    top = env.net.top.id or 0
    short = f"p={top}&u={quote(PAGE, safe='')}"
    for _ in range(2):
        env.client.get(f"/serve?{short}", headers=HEADERS)
    assert (cache.cache_info().misses, cache.cache_info().hits) == (1, 1)
    long = short + "&x=" + "a" * CACHED_QUERY_BYTES
    for _ in range(2):
        assert env.client.get(f"/serve?{long}", headers=HEADERS).json()["ads"]
    assert cache.cache_info().currsize == 1
    assert serving_routes._serve_query(
        b"p=12,13&u=https%3A%2F%2FLyrics.Example.%2Fsong"
    ) == ((12, 13), "lyrics.example")
    assert serving_routes._serve_query(b"p=7&u=nope") == ((7,), None)


def test_an_html5_creative_gets_its_click_url_as_click_tag() -> None:
    click = "http://ads.example.com/c/AbC-_1"
    assert serving_routes.with_click_tag("https://cdn.example.com/ad/index.html", click) == (
        "https://cdn.example.com/ad/index.html?clickTag=http%3A%2F%2Fads.example.com%2Fc%2FAbC-_1"
    )
    # The creative's own parameters and fragment stay where they were.
    assert serving_routes.with_click_tag("https://cdn.example.com/ad/?v=2#intro", click) == (
        "https://cdn.example.com/ad/?v=2&clickTag=http%3A%2F%2Fads.example.com%2Fc%2FAbC-_1#intro"
    )


def test_an_html5_ads_click_tag_is_its_signed_counted_click(env: Env) -> None:
    catalog = env.rt.catalog
    creative = env.net.creative
    catalog.creatives.update(
        replace(
            creative, asset_kind=AssetKind.HTML5, asset_url="https://cdn.example.com/ad/index.html"
        )
    )
    env.rt.holder.refresh(force=True)
    (ad,) = env.serve(env.net.top.id or 0)["ads"]
    assert ad["kind"] == "html5"
    src = urlsplit(ad["src"])
    assert (src.netloc, src.path) == ("cdn.example.com", "/ad/index.html")
    (click_tag,) = parse_qs(src.query)["clickTag"]
    assert click_tag == ad["click"]
    # image ads keep their URL as it is
    assert "clickTag" not in creative.asset_url

    assert env.hit(ad["imp"], method="POST").status_code == 204
    landed = env.hit(click_tag)
    assert landed.status_code == 302
    assert landed.headers["location"].startswith("https://music.example.com/night-drive?ref=bb&")
    assert [(t, valid) for t, valid, *_ in env.events()] == [
        ("impression", True), ("click", True)
    ]


def _decisions(env: Env) -> list[tuple[Any, ...]]:
    env.flush()
    return env.rt.store.query(
        "SELECT placement_id, campaign_id FROM events WHERE type = 'decision' ORDER BY id"
    )


def test_head_and_prefetched_ad_requests_are_answered_but_not_recorded(env: Env) -> None:
    top = env.net.top.id or 0
    url = f"/serve?p={top}&u={quote(PAGE, safe='')}"
    assert env.client.head(url, headers=HEADERS).status_code == 200
    for purpose in ({"sec-purpose": "prefetch"}, {"purpose": "prefetch"},
                    {"sec-purpose": "prefetch;prerender"}):  # fmt: skip
        resp = env.client.get(url, headers={**HEADERS, **purpose})
        assert resp.status_code == 200 and resp.json()["ads"], purpose
    assert env.client.head(f"/frame/{top}", headers=HEADERS).status_code == 200
    assert env.client.get(
        f"/frame/{top}", headers={**HEADERS, "sec-purpose": "prefetch"}
    ).status_code == 200
    assert _decisions(env) == []
    env.serve(top)  # a real page view is recorded
    assert _decisions(env) == [(top, env.net.campaign.id)]


def test_an_unknown_placement_is_answered_but_records_nothing(env: Env) -> None:
    top = env.net.top.id or 0
    body = env.serve(top, 999_999)
    assert {n["placement"]: n["reasons"] for n in body["nofill"]} == {
        999_999: {"unknown_placement": 1}
    }
    frame = env.client.get("/frame/999999", headers=HEADERS)
    assert frame.status_code == 200 and "Advertisement" in frame.text
    assert _decisions(env) == [(top, env.net.campaign.id)]


@pytest.mark.parametrize(
    "ids", ["%2B3", "1_0", "%D9%A1", "2147483648", "-1", "0", "1.0", "0x10", "1,%201e3"]
)
def test_placement_ids_are_plain_ascii_whole_numbers(env: Env, ids: str) -> None:
    resp = env.client.get(f"/serve?p={ids}", headers=HEADERS)
    assert resp.status_code == 422, ids
    assert resp.json()["error"]["fields"][0]["field"] == "p"


def test_spaces_around_an_id_are_allowed(env: Env) -> None:
    top = env.net.top.id or 0
    resp = env.client.get(f"/serve?p=%20{top}%20", headers=HEADERS)
    assert resp.status_code == 200 and resp.json()["ads"][0]["placement"] == top


@pytest.mark.parametrize("path", ["/frame/1,2", "/frame/1%2C2", "/frame/abc", "/frame/0"])
def test_the_iframe_tag_takes_one_placement_id(env: Env, path: str) -> None:
    for method in ("GET", "HEAD"):
        resp = env.client.request(method, path, headers=HEADERS)
        assert resp.status_code == 422, (method, path)
    body = env.client.get(path, headers=HEADERS).json()
    assert body["error"]["fields"][0]["field"] == "placement_id"


def test_decide_names_its_own_field(env: Env, catalog: SqlCatalog) -> None:
    user = create_user(
        catalog, email="pub@example.com", password="long password!", role=Role.PUBLISHER,
        publisher_id=env.net.publisher.id,
    )
    _, token = issue_token(catalog, user.id or 0, "s2s")
    for placements in ([-1], [0], [2**31], [1, "2"]):
        resp = env.client.post(
            "/decide", json={"placements": placements},
            headers={"authorization": f"Bearer {token}"},
        )
        assert resp.status_code == 422, placements
        assert resp.json()["error"]["fields"][0]["field"] == "placements"
