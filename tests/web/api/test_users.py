from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from backbeat.store.catalog import SqlCatalog
from tests.web.conftest import World


def test_no_or_bad_token_is_401(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/campaigns").status_code == 401
    bad = client.get("/api/v1/campaigns", headers={"Authorization": "Bearer bb_nope_nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    basic = client.get("/api/v1/campaigns", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


def test_token_shown_once_stored_hashed_and_revocable(
    client: TestClient, world: World, catalog: SqlCatalog
) -> None:
    h = world.adv_a.headers
    made = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=h)
    assert made.status_code == 201
    plaintext = made.json()["token"]
    listed = client.get("/api/v1/tokens", headers=h).json()["items"]
    assert all("token" not in t for t in listed)
    stored = catalog.tokens.get(made.json()["id"])
    assert plaintext not in stored.token_hash and len(stored.token_hash) == 64
    new_h = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/me", headers=new_h).json()["email"] == "a@example.com"
    assert client.delete(f"/api/v1/tokens/{made.json()['id']}", headers=h).status_code == 204
    assert client.get("/api/v1/me", headers=new_h).status_code == 401


def test_expired_token_is_refused(client: TestClient, world: World) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    resp = client.post(
        "/api/v1/tokens", json={"name": "x", "expires_at": past}, headers=world.adv_a.headers
    )
    assert resp.status_code == 422
    resp = client.post(
        "/api/v1/tokens", json={"name": "x", "expires_at": soon}, headers=world.adv_a.headers
    )
    assert resp.status_code == 201


def test_cannot_revoke_someone_elses_token(client: TestClient, world: World) -> None:
    made = client.post("/api/v1/tokens", json={"name": "x"}, headers=world.adv_a.headers).json()
    resp = client.delete(f"/api/v1/tokens/{made['id']}", headers=world.adv_b.headers)
    assert resp.status_code == 404
    ok = client.get("/api/v1/me", headers={"Authorization": f"Bearer {made['token']}"})
    assert ok.status_code == 200


def test_admin_manages_users(client: TestClient, world: World) -> None:
    body = {
        "email": "label@example.com",
        "password": "a long password",
        "role": "advertiser",
        "advertiser_id": world.adv_b.advertiser_id,
    }
    assert client.post("/api/v1/users", json=body, headers=world.adv_a.headers).status_code == 403
    resp = client.post("/api/v1/users", json=body, headers=world.admin.headers)
    assert resp.status_code == 201 and resp.json()["role"] == "advertiser"
    assert client.post("/api/v1/users", json=body, headers=world.admin.headers).status_code == 409
    no_tenant = {**body, "email": "x@example.com", "advertiser_id": None}
    resp = client.post("/api/v1/users", json=no_tenant, headers=world.admin.headers)
    assert resp.status_code == 422
    short = {**body, "email": "y@example.com", "password": "short"}
    resp = client.post("/api/v1/users", json=short, headers=world.admin.headers)
    assert resp.status_code == 422 and resp.json()["error"]["fields"][0]["field"] == "password"
    users = client.get("/api/v1/users", headers=world.admin.headers).json()
    assert users["total"] == 6
    assert all("password" not in str(u) for u in users["items"])
