from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.store.catalog import SqlCatalog
from tests.web.api import payloads
from tests.web.conftest import World


def _campaign(client: TestClient, world: World) -> int:
    resp = client.post("/api/v1/campaigns", json=payloads.campaign(), headers=world.adv_a.headers)
    return int(resp.json()["id"])


def _upload(
    client: TestClient,
    world: World,
    cid: int,
    data: bytes,
    size: str = "300x250",
    mime: str = "image/png",
) -> object:
    form = {
        "campaign_id": str(cid),
        "name": "Tour poster",
        "size": size,
        "destination_url": "https://tickets.example.com/tour",
        "destination_kind": "tickets",
        "alt_text": "Tour poster with dates",
    }
    return client.post(
        "/api/v1/creatives/upload",
        data=form,
        files={"file": ("poster.png", data, mime)},
        headers=world.adv_a.headers,
    )


def test_upload_stores_image_and_serves_it(
    client: TestClient, world: World, settings: Settings
) -> None:
    cid = _campaign(client, world)
    resp = _upload(client, world, cid, payloads.png(300, 250))
    assert resp.status_code == 201, resp.text  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert body["review_status"] == "pending" and body["asset_kind"] == "image"
    path = body["asset_url"].removeprefix(settings.base_url)
    got = client.get(path)
    assert got.status_code == 200 and got.content == payloads.png(300, 250)
    assert len(list(Path(settings.uploads_dir).iterdir())) == 1


def test_upload_rejects_wrong_dimensions_type_and_size(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    cid = _campaign(client, world)
    before = catalog.version()
    wrong_dims = _upload(client, world, cid, payloads.png(300, 251))
    assert wrong_dims.status_code == 422  # type: ignore[attr-defined]
    assert "300x251" in wrong_dims.json()["error"]["message"]  # type: ignore[attr-defined]
    not_image = _upload(client, world, cid, b"<svg onload=alert(1)>", mime="image/svg+xml")
    assert not_image.status_code == 422  # type: ignore[attr-defined]
    assert not_image.json()["error"]["fields"][0]["field"] == "file"  # type: ignore[attr-defined]
    huge = _upload(client, world, cid, b"\x89PNG" + b"0" * (settings.max_upload_bytes + 10))
    assert huge.status_code == 413  # type: ignore[attr-defined]
    bad_size = _upload(client, world, cid, payloads.png(333, 333), size="333x333")
    assert bad_size.status_code == 422  # type: ignore[attr-defined]
    assert catalog.version() == before
    assert not any(Path(settings.uploads_dir).iterdir())


def test_creative_bad_destinations(client: TestClient, world: World) -> None:
    cid = _campaign(client, world)
    for url in ("javascript:alert(1)", "data:text/html,x", "ftp://x.example.com"):
        resp = client.post(
            "/api/v1/creatives",
            json=payloads.creative(cid, destination_url=url),
            headers=world.adv_a.headers,
        )
        assert resp.status_code == 422
        assert resp.json()["error"]["fields"][0]["field"] == "destination_url"


def test_reject_needs_reason_and_edit_returns_to_review(client: TestClient, world: World) -> None:
    cid = _campaign(client, world)
    crid = client.post(
        "/api/v1/creatives", json=payloads.creative(cid), headers=world.adv_a.headers
    ).json()["id"]
    review = f"/api/v1/creatives/{crid}/review"
    resp = client.post(review, json={"decision": "reject"}, headers=world.admin.headers)
    assert resp.status_code == 422
    resp = client.post(
        review, json={"decision": "reject", "reason": "Text too small"}, headers=world.admin.headers
    )
    assert resp.json()["review_status"] == "rejected"
    assert resp.json()["rejection_reason"] == "Text too small"
    resp = client.patch(
        f"/api/v1/creatives/{crid}",
        json={"asset_url": "https://cdn.example.com/v2.png"},
        headers=world.adv_a.headers,
    )
    assert resp.json()["review_status"] == "pending"
    pending = client.get("/api/v1/creatives?review_status=pending", headers=world.admin.headers)
    assert [c["id"] for c in pending.json()["items"]] == [crid]
