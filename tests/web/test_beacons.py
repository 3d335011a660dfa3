"""The beacon front (`BeaconRoutes`): what it takes, what it leaves to the router, and
that its answers are the ones the routes gave; a serving worker's lean path
(`spool_hit`) spools the very Hit that `track` would have."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from backbeat.config import parse_networks
from backbeat.domain.events import EventType
from backbeat.tracking.hits import Hit
from backbeat.web.beacons import page_host, spool_hit
from backbeat.web.client_address import TrustedProxies
from backbeat.web.tracking_routes import track
from tests.web.network import PAGE, Network
from tests.web.test_tracking_flow import HEADERS, Env, env

__all__ = ["env"]  # the fixture, shared with the flow tests


def test_a_beacon_is_an_empty_uncached_204_open_to_every_origin(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    for method in ("POST", "GET"):
        resp = env.hit(ad["imp"], method=method)
        assert resp.status_code == 204 and resp.content == b""
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["access-control-allow-origin"] == "*"
        assert "content-length" not in resp.headers
    assert env.hit(ad["view"]).status_code == 204
    assert [e[:3] for e in env.events()] == [
        ("impression", True, None), ("impression", False, "duplicate"), ("viewable", True, None)
    ]


def test_other_methods_are_405_and_nothing_is_stored(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        resp = env.hit(ad["imp"], method=method)
        assert resp.status_code == 405, method
        assert resp.headers["allow"] == "GET, POST, HEAD"
    assert env.events() == []


def test_paths_that_are_not_one_token_go_to_the_router(env: Env) -> None:
    for path in ("/i/", "/v/", "/i/a/b", "/i", "/iv/x", "/x/i/abc"):
        assert env.client.post(path, headers=HEADERS).status_code == 404, path
    assert env.client.get("/healthz").status_code == 200  # the rest of the app still answers
    assert env.events() == []


def test_a_refusal_keeps_its_json_reason(env: Env) -> None:
    resp = env.client.post("/v/not-a-token", headers=HEADERS)
    assert resp.status_code == 403
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.json()["error"]


def test_in_cookie_mode_a_beacon_counts_the_cookies_visitor(
    cookie_mode: tuple[TestClient, Network]
) -> None:
    client, net = cookie_mode
    served = client.get(f"/serve?p={net.top.id}&u={PAGE}", headers=HEADERS)
    vid = served.cookies["bb_vid"]
    assert vid.startswith("c")
    imp = served.json()["ads"][0]["imp"].split("/", 3)[3]
    headers = {**HEADERS, "cookie": f"theme=dark; bb_vid={vid}"}
    assert client.post("/" + imp, headers=headers).status_code == 204
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while not rt.ingest.idle and time.monotonic() < deadline:
        time.sleep(0.005)
    assert rt.writer.flush(timeout=10)
    rows = rt.store.query("SELECT visitor FROM events WHERE type = 'impression'")
    assert rows == [(vid,)]


class Captured:
    """Stands in for a worker's hit spool: keeps what it is handed."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []

    async def submit(self, hits: Sequence[Hit]) -> None:
        self.hits.extend(hits)


def _scope(env: Env, method: str, path: str, query: str, headers: dict[str, str],
           client: tuple[str, int] | None) -> dict[str, Any]:
    return {
        "type": "http", "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode("latin-1"),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in headers.items()],
        "client": client, "server": ("127.0.0.1", 80), "app": env.client.app,
    }


def _both(env: Env, scope: dict[str, Any], kind: EventType) -> tuple[Any, Any]:
    """What `track` and `spool_hit` make of one request: each one's Hit, or its refusal
    as (status, body, rejection counts)."""
    rt = env.rt
    token = scope["path"][3:]

    def run(call: Any) -> Any:
        sink = Captured()
        rt.hits = sink  # type: ignore[assignment]
        before = rt.rejections.snapshot()
        try:
            # A thread of its own: a browser test's sync Playwright may hold this one's loop.
            with ThreadPoolExecutor(1) as pool:
                out = pool.submit(asyncio.run, call()).result()
        finally:
            rt.hits = None
        if isinstance(out, Response):
            after = rt.rejections.snapshot()
            return out.status_code, out.body, {k: after[k] - before[k] for k in after}
        assert len(sink.hits) == 1
        return replace(sink.hits[0], id="")

    async def via_track() -> Any:
        s = {**scope, "path_params": {"token": token}}
        return await track(Request(s), kind)

    async def via_spool() -> Any:
        return await spool_hit(rt, dict(scope), kind, token)

    return run(via_track), run(via_spool)


def test_the_lean_path_spools_the_hit_track_would(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    imp = "/" + ad["imp"].split("/", 3)[3]
    view = "/" + ad["view"].split("/", 3)[3]
    page = quote(PAGE, safe="")
    browsers = [
        {"user-agent": HEADERS["user-agent"]},
        {"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"},
        {"user-agent": ""},
        {},
    ]
    extras = [
        {},
        {"referer": "https://Other.Example./x"},
        {"dnt": "1"},
        {"sec-gpc": "1", "referer": PAGE},
        {"sec-purpose": "Prefetch;prerender", "x-moz": "PREFETCH"},
        {"purpose": "prefetch", "x-purpose": "preview"},
    ]
    queries = ["", f"u={page}", "u=", "u=not-a-url", "u=https%3A%2F%2FM%C3%BCsic.example%2F",
               f"x=1&u={page}&u=https://last.example/", "u=" + "a" * 600, "u=%ZZ&%41=1"]
    clients = [("203.0.113.9", 5000), ("::ffff:203.0.113.9", 1), ("2001:db8::1", 2), None]
    n = 0
    for path, kind in ((imp, EventType.IMPRESSION), (view, EventType.VIEWABLE)):
        for browser in browsers:
            for extra in extras:
                for i, query in enumerate(queries):
                    method = ("GET", "POST", "HEAD", "post")[i % 4]
                    scope = _scope(env, method, path, query, {**browser, **extra},
                                   clients[n % len(clients)])
                    tracked, spooled = _both(env, scope, kind)
                    assert isinstance(tracked, Hit)
                    assert spooled == tracked, (path, browser, extra, query)
                    n += 1
    assert n == 2 * 4 * 6 * 8


def test_the_lean_path_refuses_what_track_refuses(env: Env) -> None:
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    imp = ad["imp"].split("/", 3)[3][2:]
    view = ad["view"].split("/", 3)[3][2:]
    cases = [
        ("/i/" + view, EventType.IMPRESSION),  # a viewable link used as an impression
        ("/v/" + imp, EventType.VIEWABLE),
        ("/i/" + imp[:-2] + ("A" if imp[-2] != "A" else "B") + imp[-1], EventType.IMPRESSION),
        ("/i/not-a-token", EventType.IMPRESSION),
        ("/i/" + "A" * 2000, EventType.IMPRESSION),
    ]
    for path, kind in cases:
        tracked, spooled = _both(env, _scope(env, "POST", path, "", HEADERS, None), kind)
        assert not isinstance(tracked, Hit) and spooled == tracked, path
    env.clock.now = env.clock.now.replace(year=env.clock.now.year + 1)  # past every expiry
    tracked, spooled = _both(env, _scope(env, "POST", "/i/" + imp, "", HEADERS, None),
                             EventType.IMPRESSION)
    assert tracked[0] == 410 and spooled == tracked


def test_page_host_is_the_u_parameter_when_given_else_the_referer() -> None:
    assert page_host(b"u=https%3A%2F%2FLyrics.Example.%3A8443%2Fsong", None) == "lyrics.example"
    assert page_host(b"u=https://a.example/&u=https://b.example/", "https://c.example/") == (
        "b.example"
    )
    assert page_host(b"u=not-a-url", "https://c.example/") is None  # given, but no host
    assert page_host(b"u=", "https://c.example/") == "c.example"
    assert page_host(b"", "https://c.example/") == "c.example"
    assert page_host(b"", None) is None
    long = b"u=https%3A%2F%2Flong.example%2F" + b"a" * 1000
    assert page_host(long, None) == "long.example"  # not cached, same answer


def test_behind_a_trusted_proxy_both_paths_take_the_forwarded_address(env: Env) -> None:
    env.rt.__dict__["proxies"] = TrustedProxies(parse_networks(["10.0.0.0/8"]))
    ad = env.serve(env.net.top.id or 0)["ads"][0]
    imp = "/" + ad["imp"].split("/", 3)[3]

    def hit_from(client: tuple[str, int], forwarded: str) -> Hit:
        headers = {"user-agent": HEADERS["user-agent"], "x-forwarded-for": forwarded}
        tracked, spooled = _both(env, _scope(env, "POST", imp, "", headers, client),
                                 EventType.IMPRESSION)
        assert isinstance(tracked, Hit) and spooled == tracked
        return tracked

    one = hit_from(("10.0.0.5", 1), "198.51.100.7")
    other = hit_from(("10.0.0.5", 1), "198.51.100.8")
    direct = hit_from(("198.51.100.7", 1), "192.0.2.1")  # not a proxy: its header is ignored
    assert one.visitor_id != other.visitor_id  # two visitors behind one proxy
    assert one.visitor_id == direct.visitor_id  # the same visitor as when it came directly
