from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from backbeat.store.catalog import SqlCatalog
from tests.web.api import payloads
from tests.web.conftest import World


def _error_fields(resp: Any) -> set[str]:
    body = resp.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    return {f["field"] for f in body["error"]["fields"]}


def test_advertiser_creates_reads_and_lists_own_campaign(client: TestClient, world: World) -> None:
    h = world.adv_a.headers
    resp = client.post("/api/v1/campaigns", json=payloads.campaign(), headers=h)
    assert resp.status_code == 201, resp.text
    c = resp.json()
    assert c["advertiser_id"] == world.adv_a.advertiser_id
    assert c["bid"] == "3" and c["budget_total"] == "500" and c["budget_daily"] == "50"
    assert c["status"] == "draft"
    assert c["targeting"]["genres"] == ["electronic", "pop"]
    assert c["frequency_cap"] == {"impressions": 3, "hours": 24}
    got = client.get(f"/api/v1/campaigns/{c['id']}", headers=h).json()
    assert got == c
    listing = client.get("/api/v1/campaigns", headers=h).json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == c["id"]


def test_admin_must_name_the_advertiser(client: TestClient, world: World) -> None:
    h = world.admin.headers
    resp = client.post("/api/v1/campaigns", json=payloads.campaign(), headers=h)
    assert resp.status_code == 422
    assert _error_fields(resp) == {"advertiser_id"}
    ok = client.post(
        "/api/v1/campaigns", json=payloads.campaign(world.adv_b.advertiser_id), headers=h
    )
    assert ok.status_code == 201


BAD_CAMPAIGNS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown field", {"colour": "red"}, "colour"),
    ("wrong type", {"budget_total": {"amount": 5}}, "budget_total"),
    ("negative budget", {"budget_total": "-5"}, "budget_total"),
    ("absurd budget", {"budget_total": "99999999999"}, "budget_total"),
    ("bid below floor", {"bid": "1.00"}, "bid"),
    ("daily over total", {"budget_daily": "900"}, "budget_daily"),
    ("end before start", {"end": "2026-11-01T00:00:00Z"}, "end"),
    ("naive datetime", {"start": "2026-12-01T00:00:00"}, "start"),
    ("bad objective", {"objective": "virality"}, "objective"),
    ("bad timezone", {"timezone": "Moon/Base"}, "timezone"),
    ("bad country", {"targeting": {"countries": ["USA"]}}, "targeting.countries"),
    ("bad genre", {"targeting": {"genres": ["yodel-step"]}}, "targeting.genres"),
    ("bad size", {"targeting": {"sizes": ["333x333"]}}, "targeting.sizes"),
    ("bad hour", {"targeting": {"hours": [25]}}, "targeting.hours"),
    ("unknown targeting key", {"targeting": {"zodiac": ["leo"]}}, "targeting.zodiac"),
    ("float NaN", {"bid": "NaN"}, "bid"),
]


@pytest.mark.parametrize(
    ("case", "change", "field"), BAD_CAMPAIGNS, ids=[c[0] for c in BAD_CAMPAIGNS]
)
def test_bad_campaign_input_is_a_4xx_naming_the_field(
    client: TestClient,
    world: World,
    catalog: SqlCatalog,
    case: str,
    change: dict[str, Any],
    field: str,
) -> None:
    before = catalog.version()
    body = payloads.campaign(**change)
    resp = client.post("/api/v1/campaigns", json=body, headers=world.adv_a.headers)
    assert 400 <= resp.status_code < 500, (case, resp.text)
    assert field in _error_fields(resp), (case, resp.json())
    assert catalog.version() == before


def test_malformed_json_is_a_422(client: TestClient, world: World) -> None:
    resp = client.post(
        "/api/v1/campaigns",
        content=b"{not json",
        headers={**world.adv_a.headers, "content-type": "application/json"},
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_failed"


def test_patch_updates_and_revalidates(client: TestClient, world: World) -> None:
    h = world.adv_a.headers
    cid = client.post("/api/v1/campaigns", json=payloads.campaign(), headers=h).json()["id"]
    resp = client.patch(f"/api/v1/campaigns/{cid}", json={"budget_total": "800"}, headers=h)
    assert resp.status_code == 200 and resp.json()["budget_total"] == "800"
    resp = client.patch(f"/api/v1/campaigns/{cid}", json={"budget_daily": "900"}, headers=h)
    assert resp.status_code == 422 and _error_fields(resp) == {"budget_daily"}
    assert client.get(f"/api/v1/campaigns/{cid}", headers=h).json()["budget_daily"] == "50"


def test_status_transitions(client: TestClient, world: World) -> None:
    h = world.adv_a.headers
    cid = client.post("/api/v1/campaigns", json=payloads.campaign(), headers=h).json()["id"]
    status = f"/api/v1/campaigns/{cid}/status"
    # illegal: draft -> paused
    resp = client.post(status, json={"status": "paused"}, headers=h)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "illegal_transition"
    # activation needs an approved creative
    resp = client.post(status, json={"status": "active"}, headers=h)
    assert resp.status_code == 422 and _error_fields(resp) == {"status"}
    crid = client.post("/api/v1/creatives", json=payloads.creative(cid), headers=h).json()["id"]
    resp = client.post(f"/api/v1/creatives/{crid}/review", json={"decision": "approve"}, headers=h)
    assert resp.status_code == 403  # advertisers cannot approve their own ads
    resp = client.post(
        f"/api/v1/creatives/{crid}/review",
        json={"decision": "approve"},
        headers=world.admin.headers,
    )
    assert resp.status_code == 200 and resp.json()["review_status"] == "approved"
    assert client.post(status, json={"status": "active"}, headers=h).json()["status"] == "active"
    assert client.post(status, json={"status": "paused"}, headers=h).json()["status"] == "paused"
    resp = client.post(status, json={"status": "launched"}, headers=h)
    assert resp.status_code == 422 and _error_fields(resp) == {"status"}


def test_only_drafts_can_be_deleted(client: TestClient, world: World) -> None:
    h = world.adv_a.headers
    draft = client.post("/api/v1/campaigns", json=payloads.campaign(), headers=h).json()["id"]
    assert client.delete(f"/api/v1/campaigns/{draft}", headers=h).status_code == 204
    assert client.get(f"/api/v1/campaigns/{draft}", headers=h).status_code == 404
    kept = client.post("/api/v1/campaigns", json=payloads.campaign(), headers=h).json()["id"]
    resp = client.post(f"/api/v1/campaigns/{kept}/status", json={"status": "archived"}, headers=h)
    assert resp.json()["status"] == "archived"
    resp = client.delete(f"/api/v1/campaigns/{kept}", headers=h)
    assert resp.status_code == 422 and _error_fields(resp) == {"status"}
    assert client.get(f"/api/v1/campaigns/{kept}", headers=h).status_code == 200


def test_pagination_and_filters(client: TestClient, world: World) -> None:
    h = world.adv_a.headers
    for i in range(7):
        body = payloads.campaign(
            name=f"Tour leg {i}", objective="awareness" if i % 2 else "traffic"
        )
        assert client.post("/api/v1/campaigns", json=body, headers=h).status_code == 201
    page = client.get("/api/v1/campaigns?limit=3&offset=3&order=-id", headers=h).json()
    assert page["total"] == 7 and page["limit"] == 3 and len(page["items"]) == 3
    assert [c["name"] for c in page["items"]] == ["Tour leg 3", "Tour leg 2", "Tour leg 1"]
    aware = client.get("/api/v1/campaigns?objective=awareness", headers=h).json()
    assert aware["total"] == 3
    assert client.get("/api/v1/campaigns?q=leg 6", headers=h).json()["total"] == 1
    assert client.get("/api/v1/campaigns?limit=0", headers=h).status_code == 422
    assert client.get("/api/v1/campaigns?order=password", headers=h).status_code == 422
