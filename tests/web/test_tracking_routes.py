"""The beacon front (`BeaconRoutes`): what it takes, what it leaves to the router, and
that its answers are the ones the routes gave."""

from __future__ import annotations

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
