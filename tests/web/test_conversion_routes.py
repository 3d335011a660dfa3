"""The conversion pixel and endpoint on bad or odd input: each refusal names its field,
nothing is stored for it, nothing is cut or coerced into a different value, and a HEAD or
a prefetch of the pixel is not a conversion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_tracking_flow import HEADERS, Env, env

__all__ = ["env"]


def _conversions(env: Env) -> list[tuple[Any, ...]]:
    env.flush()
    return env.rt.store.query(
        "SELECT valid, drop_reason, attribution, value_micros FROM events"
        " WHERE type = 'conversion' ORDER BY ts, id"
    )


def test_a_head_or_a_prefetch_of_the_pixel_is_not_a_conversion(env: Env) -> None:
    a = env.net.advertiser.id
    assert env.client.head(f"/conv?a={a}&oid=head-1", headers=HEADERS).status_code == 204
    for purpose in ({"sec-purpose": "prefetch"}, {"purpose": "prefetch"}):
        resp = env.client.get(f"/conv?a={a}&oid=pre-1", headers={**HEADERS, **purpose})
        assert resp.status_code == 204
    assert _conversions(env) == []
    # the same order, now really converting, is not a duplicate of the prefetch
    assert env.client.get(f"/conv?a={a}&oid=pre-1", headers=HEADERS).status_code == 204
    assert _conversions(env) == [(True, None, "unattributed", 0)]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e1000000", "amounts above"),
        ("1e999999999999999999", "amounts above"),
        ("1e-999999999", "decimal places"),
        ("NaN", "finite"),
    ],
)
def test_extreme_values_are_refused_by_name(env: Env, value: str, reason: str) -> None:
    for resp in (
        env.client.get(f"/conv?a={env.net.advertiser.id}&v={value}", headers=HEADERS),
        env.client.post("/conv", json={"a": env.net.advertiser.id, "v": value}, headers=HEADERS),
    ):
        assert resp.status_code == 422, value
        (field,) = resp.json()["error"]["fields"]
        assert field["field"] == "v" and reason in field["reason"]
    assert _conversions(env) == []


def test_a_click_id_beyond_ascii_is_not_a_click(env: Env) -> None:
    a = env.net.advertiser.id
    assert env.client.get(f"/conv?a={a}&bbclid=x.%C3%A9", headers=HEADERS).status_code == 204
    resp = env.client.post("/conv", json={"a": a, "bbclid": "abc.é"}, headers=HEADERS)
    assert resp.status_code == 202 and resp.json()["attribution"] == "unattributed"
    assert [r[2] for r in _conversions(env)] == ["unattributed", "unattributed"]


def test_a_long_order_id_is_refused_not_cut(env: Env) -> None:
    """Cut to 128 characters, two orders differing after that were one order, and the
    second a duplicate."""
    a = env.net.advertiser.id
    for oid in ("x" * 129, "x" * 10_000):
        resp = env.client.post("/conv", json={"a": a, "oid": oid}, headers=HEADERS)
        assert resp.status_code == 422
        assert resp.json()["error"]["fields"][0] == {
            "field": "oid", "reason": "at most 128 characters"
        }
    ok = env.client.post("/conv", json={"a": a, "oid": "x" * 128}, headers=HEADERS)
    assert ok.status_code == 202 and ok.json()["valid"] is True
    assert len(_conversions(env)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"oid": {"nested": [1, 2]}}, "oid"),
        ({"bbclid": 12345}, "bbclid"),
        ({"v": 5.5}, "v"),  # money is never a float
        ({"v": True}, "v"),
        ({"cur": ["USD"]}, "cur"),
        ({"u": 7}, "u"),
        ({"bbclid": "c" * 101}, "bbclid"),
    ],
)
def test_values_of_the_wrong_type_are_refused_not_coerced(
    env: Env, body: dict[str, Any], field: str
) -> None:
    resp = env.client.post("/conv", json={"a": env.net.advertiser.id, **body}, headers=HEADERS)
    assert resp.status_code == 422, body
    assert resp.json()["error"]["fields"][0]["field"] == field
    assert _conversions(env) == []


@pytest.mark.parametrize("a", ["١", "%2B1", "1_0", "0", "-1", "2147483648", "1.0", ""])
def test_the_advertiser_id_is_a_plain_whole_number(env: Env, a: str) -> None:
    resp = env.client.get(f"/conv?a={a}", headers=HEADERS)
    assert resp.status_code == 422, a
    assert resp.json()["error"]["fields"][0]["field"] == "a"


def test_json_integers_are_taken_for_ids_and_values(env: Env) -> None:
    resp = env.client.post(
        "/conv", json={"a": env.net.advertiser.id, "v": 25, "oid": "A-1"}, headers=HEADERS
    )
    assert resp.status_code == 202
    assert _conversions(env) == [(True, None, "unattributed", 25_000_000)]


def test_a_body_over_16_kib_is_a_413(env: Env) -> None:
    resp = env.client.post(
        "/conv", content=b'{"a": 1, "u": "' + b"x" * 20_000 + b'"}', headers=HEADERS
    )
    assert resp.status_code == 413
    assert resp.json()["error"]["fields"][0]["field"] == "body"
