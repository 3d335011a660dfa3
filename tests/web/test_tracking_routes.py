"""The beacon front (`BeaconRoutes`): what it takes, what it leaves to the router, and
that its answers are the ones the routes gave."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from backbeat.config import Settings, VisitorMode
from backbeat.store.catalog import SqlCatalog
from backbeat.web.app import create_app
from tests.web.network import PAGE, build_network
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
    settings: Settings, catalog: SqlCatalog
) -> None:
    net = build_network(catalog)
    app = create_app(settings.model_copy(update={"visitor_mode": VisitorMode.COOKIE}),
                     catalog=catalog)
    with TestClient(app) as client:
        served = client.get(f"/serve?p={net.top.id}&u={PAGE}", headers=HEADERS)
        vid = served.cookies["bb_vid"]
        assert vid.startswith("c")
        imp = served.json()["ads"][0]["imp"].split("/", 3)[3]
        headers = {**HEADERS, "cookie": f"theme=dark; bb_vid={vid}"}
        assert client.post("/" + imp, headers=headers).status_code == 204
        rt = app.state.runtime
        deadline = time.monotonic() + 10
        while not rt.ingest.idle and time.monotonic() < deadline:
            time.sleep(0.005)
        assert rt.writer.flush(timeout=10)
        rows = rt.store.query("SELECT visitor FROM events WHERE type = 'impression'")
    assert rows == [(vid,)]
