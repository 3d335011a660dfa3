"""The creative review queue: what an admin sees, approving, rejecting with a reason, and
everyone else kept out."""

from __future__ import annotations

from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.domain.creative import ReviewStatus
from backbeat.store.catalog import SqlCatalog
from backbeat.web.dashboard.review import destination_parts
from tests.web.api import payloads
from tests.web.conftest import World
from tests.web.dashboard.pages import described_by, element, login


def _pending(client: TestClient, world: World, **creative: str) -> tuple[int, int]:
    """A campaign of advertiser A with one pending creative: (campaign id, creative id)."""
    cid = client.post(
        "/api/v1/campaigns", json=payloads.campaign(), headers=world.adv_a.headers
    ).json()["id"]
    crid = client.post(
        "/api/v1/creatives", json=payloads.creative(cid, **creative), headers=world.adv_a.headers
    ).json()["id"]
    return int(cid), int(crid)


def test_queue_shows_each_pending_ad_at_real_size(
    client: TestClient, world: World, settings: Settings
) -> None:
    cid, crid = _pending(client, world)
    login(client, settings, "admin@example.com")
    resp = client.get("/network/review")
    assert resp.status_code == 200
    html = resp.text
    assert element(html, f"creative-{crid}")["aria-labelledby"] == f"creative-{crid}-title"
    assert 'src="https://cdn.example.com/night-drive.png" width="300" height="250"' in html
    assert "Nova Lux (artist)" in html and "Night Drive - single launch" in html
    destination = html[html.index(f'id="destination-{crid}"') :]
    assert destination.startswith(
        f'id="destination-{crid}">https://<mark class="host">open.spotify.com</mark>'
        "/track/night-drive"
    )
    assert element(html, f"approve-{crid}") is not None
    assert element(html, f"reason-{crid}")["name"] == "reason"
    assert element(html, f"reject-{crid}") is not None
    data = client.get("/network/review?format=json").json()
    assert data["total"] == 1
    (item,) = data["pending"]
    assert item["id"] == crid and item["campaign"]["id"] == cid
    assert item["destination"]["host"] == "open.spotify.com"
    assert item["advertiser"]["name"] == "Nova Lux (artist)"


def test_approve_then_the_advertiser_can_activate(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    cid, crid = _pending(client, world)
    status = f"/api/v1/campaigns/{cid}/status"
    blocked = client.post(status, json={"status": "active"}, headers=world.adv_a.headers)
    assert blocked.status_code == 422  # no approved creative yet
    csrf = login(client, settings, "admin@example.com")
    resp = client.post(
        f"/network/review/{crid}", data={"csrf": csrf, "decision": "approve"},
        follow_redirects=False,
    )  # fmt: skip
    assert (
        resp.status_code == 303 and resp.headers["location"] == f"/network/review?approved={crid}"
    )
    after = client.get(resp.headers["location"])
    assert element(after.text, "review-flash")["role"] == "status"
    assert "Approved “Cover art 300x250”" in after.text
    assert element(after.text, "review-empty") is not None
    assert catalog.creatives.get(crid).review_status is ReviewStatus.APPROVED
    active = client.post(status, json={"status": "active"}, headers=world.adv_a.headers)
    assert active.status_code == 200 and active.json()["status"] == "active"
    again = client.post(f"/network/review/{crid}", data={"csrf": csrf, "decision": "approve"})
    assert again.status_code == 409 and "already approved" in again.text


def test_reject_needs_a_reason(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    _, crid = _pending(client, world)
    csrf = login(client, settings, "admin@example.com")
    url = f"/network/review/{crid}"
    resp = client.post(url, data={"csrf": csrf, "decision": "reject", "reason": "   "})
    assert resp.status_code == 422
    assert element(resp.text, "error-summary")["role"] == "alert"
    assert described_by(resp.text, f"reason-{crid}") == [f"err-reason-{crid}"]
    assert element(resp.text, f"reason-{crid}")["aria-invalid"] == "true"
    assert "give a reason the advertiser can act on" in resp.text
    assert catalog.creatives.get(crid).review_status is ReviewStatus.PENDING
    reason = "The text on the image is too small to read."
    ok = client.post(url, data={"csrf": csrf, "decision": "reject", "reason": reason})
    assert ok.status_code == 200 and "The advertiser sees your reason." in ok.text
    rejected = catalog.creatives.get(crid)
    assert rejected.review_status is ReviewStatus.REJECTED
    assert rejected.rejection_reason == reason
    unknown = client.post(url, data={"csrf": csrf, "decision": "ignore"})
    assert unknown.status_code == 422


def test_others_cannot_review(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    _, crid = _pending(client, world)
    for email in ("a@example.com", "p@example.com"):
        csrf = login(client, settings, email)
        assert client.get("/network/review").status_code == 403
        resp = client.post(f"/network/review/{crid}", data={"csrf": csrf, "decision": "approve"})
        assert resp.status_code == 403 and "another kind of account" in resp.text
    login(client, settings, "admin@example.com")
    forged = client.post(f"/network/review/{crid}", data={"csrf": "x", "decision": "approve"})
    assert forged.status_code == 403
    assert catalog.creatives.get(crid).review_status is ReviewStatus.PENDING
    csrf = login(client, settings, "admin@example.com")
    missing = client.post("/network/review/99999", data={"csrf": csrf, "decision": "approve"})
    assert missing.status_code == 404


def test_disguised_destinations_are_called_out(
    client: TestClient, world: World, settings: Settings
) -> None:
    _pending(client, world, destination_url="https://open.spotify.com@evil.example.com/x")
    login(client, settings, "admin@example.com")
    html = client.get("/network/review").text
    assert '@<mark class="host">evil.example.com</mark>/x' in html
    assert "the browser really goes to evil.example.com" in html


def test_destination_parts_rebuild_the_url() -> None:
    for url, host in (
        ("https://Open.Spotify.com:8443/a?b=c#d", "Open.Spotify.com"),
        ("http://user:pw@tickets.example.com/x", "tickets.example.com"),
        ("https://bücher.example/", "bücher.example"),
    ):
        parts = destination_parts(url)
        assert parts["before"] + parts["host"] + parts["after"] == url
        assert parts["host"] == host
    assert "xn--bcher-kva.example" in destination_parts("https://bücher.example/")["warning"]
    assert destination_parts("https://open.spotify.com/x")["warning"] == ""
