from __future__ import annotations

from starlette.testclient import TestClient

from tests.web.api import payloads
from tests.web.conftest import World


def test_publisher_registers_site_and_placement(client: TestClient, world: World) -> None:
    h = world.pub_p.headers
    site = client.post(
        "/api/v1/sites", json=payloads.site(domain="WWW.Riffs.example.com"), headers=h
    )
    assert site.status_code == 201, site.text
    assert site.json()["domain"] == "riffs.example.com"
    assert site.json()["publisher_id"] == world.pub_p.publisher_id
    sid = site.json()["id"]
    pl = client.post("/api/v1/placements", json=payloads.placement(sid), headers=h)
    assert pl.status_code == 201 and pl.json()["floor_cpm"] == "2.5"
    dup = client.post("/api/v1/sites", json=payloads.site(domain="riffs.example.com"), headers=h)
    assert dup.status_code == 409
    assert dup.json()["error"]["fields"][0]["field"] == "domain"


def test_placement_floor_and_sizes(client: TestClient, world: World) -> None:
    h = world.pub_p.headers
    sid = client.post("/api/v1/sites", json=payloads.site(), headers=h).json()["id"]
    low = client.post(
        "/api/v1/placements", json=payloads.placement(sid, floor_cpm="1.00"), headers=h
    )
    assert low.status_code == 422 and low.json()["error"]["fields"][0]["field"] == "floor_cpm"
    odd = client.post(
        "/api/v1/placements", json=payloads.placement(sid, sizes=["301x250"]), headers=h
    )
    assert odd.status_code == 422 and odd.json()["error"]["fields"][0]["field"] == "sizes"
    default_floor = client.post(
        "/api/v1/placements", json=payloads.placement(sid, floor_cpm=None), headers=h
    )
    assert default_floor.json()["floor_cpm"] == "2.5"


def test_bad_site_country_and_genre(client: TestClient, world: World) -> None:
    h = world.pub_p.headers
    resp = client.post("/api/v1/sites", json=payloads.site(country="ZZ", genres=["x"]), headers=h)
    assert resp.status_code == 422
    assert {f["field"] for f in resp.json()["error"]["fields"]} == {"country", "genres"}


def test_reference_data(client: TestClient, world: World) -> None:
    genres = client.get("/api/v1/genres", headers=world.adv_a.headers).json()
    assert {"slug": "hip-hop", "label": "Hip Hop", "iab_id": 355} in genres
    sizes = client.get("/api/v1/sizes", headers=world.adv_a.headers).json()
    assert "970x250" in sizes["display"]
