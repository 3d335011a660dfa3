"""Publisher pages: sites, placements, the ad tag snippet and its copy button, tenancy."""

from __future__ import annotations

from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.domain.inventory import Placement
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.store.catalog import SqlCatalog
from backbeat.web.dashboard.inventory import iframe_snippet, tag_snippet
from tests.web.conftest import World
from tests.web.dashboard.pages import code_text, described_by, element, login

SITE = {"domain": "www.LyricsHub.example.com", "name": "Lyrics Hub", "country": "us"}


def _site(client: TestClient, csrf: str, **kw: object) -> object:
    data = {"csrf": csrf, **SITE, "genres": ["pop", "hip-hop"], **kw}
    return client.post("/publisher/sites", data=data, follow_redirects=False)


def _placement(client: TestClient, csrf: str, site_id: int, **kw: object) -> object:
    data = {
        "csrf": csrf,
        "placement_name": "Sidebar",
        "format": "display",
        "sizes": ["300x250", "300x600"],
        "floor_cpm": "3.00",
        **kw,
    }
    return client.post(f"/publisher/sites/{site_id}/placements", data=data, follow_redirects=False)


def test_snippets() -> None:
    assert tag_snippet("https://ads.example.com", 12) == (
        '<div data-backbeat-placement="12"></div>\n'
        '<script async src="https://ads.example.com/tag.js"></script>'
    )
    p = Placement(1, "Top", AdFormat.DISPLAY, frozenset({Size(728, 90), Size(970, 90)}), 0, id=7)
    assert iframe_snippet("https://ads.example.com", p) == (
        '<iframe src="https://ads.example.com/frame/7" width="728" height="90" scrolling="no" '
        'style="border:0" title="Advertisement"></iframe>'
    )


def test_publisher_adds_a_site_and_a_placement_and_gets_its_tag(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    csrf = login(client, settings, "p@example.com")
    resp = _site(client, csrf)
    assert resp.status_code == 303  # type: ignore[attr-defined]
    (site,) = catalog.sites.all()
    assert (site.domain, site.country, site.publisher_id) == (
        "lyricshub.example.com",
        "US",
        world.pub_p.publisher_id,
    )
    assert resp.headers["location"] == f"/publisher/sites/{site.id}?added=site"  # type: ignore[attr-defined]
    assert "Now add the ad slots" in client.get(resp.headers["location"]).text  # type: ignore[attr-defined]
    assert site.id is not None
    added = _placement(client, csrf, site.id)
    assert added.status_code == 303  # type: ignore[attr-defined]
    (placement,) = catalog.placements.all()
    assert placement.floor_cpm_micros == 3_000_000
    assert placement.sizes == {Size(300, 250), Size(300, 600)}
    page = client.get(added.headers["location"].split("#")[0]).text  # type: ignore[attr-defined]
    pid = placement.id
    assert pid is not None
    tag = tag_snippet(settings.base_url, pid)
    assert code_text(page, f"tag-{pid}") == tag
    assert element(page, f"tag-{pid}")["class"] == "snippet"
    button = element(page, f"copy-tag-{pid}")
    assert button["type"] == "button" and button["data-copy"] == f"tag-{pid}"
    assert "hidden" in button  # shown by the script only, where copying can work
    assert 'Copy tag<span class="sr-only"> for Sidebar</span>' in page
    status = element(page, f"status-tag-{pid}")
    assert status["role"] == "status" and status["aria-live"] == "polite"
    assert code_text(page, f"iframe-{pid}") == iframe_snippet(settings.base_url, placement)
    assert element(page, f"copy-iframe-{pid}")["data-copy"] == f"iframe-{pid}"
    assert "also takes 300x600" in page
    overview = client.get("/publisher")
    assert f'id="copy-tag-{pid}"' in overview.text
    data = client.get("/publisher?format=json").json()
    (site_json,) = data["sites"]
    assert site_json["placements"][0]["tag"] == tag
    assert site_json["placements"][0]["sizes"] == ["300x250", "300x600"]
    one = client.get(f"/publisher/sites/{site.id}?format=json").json()
    assert one["site"]["placements"][0]["iframe"] == iframe_snippet(settings.base_url, placement)


def test_invalid_site_and_placement_are_explained(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    csrf = login(client, settings, "p@example.com")
    bad = _site(client, csrf, domain="not a domain", country="XX", genres=[])
    assert bad.status_code == 422  # type: ignore[attr-defined]
    text = bad.text  # type: ignore[attr-defined]
    assert element(text, "error-summary")["role"] == "alert"
    for ident in ("domain", "country", "genres"):
        assert element(text, ident)["aria-invalid"] == "true"
    assert described_by(text, "domain") == ["domain-hint", "err-domain"]
    assert "is not a domain name like example.com" in text
    assert element(text, "domain")["value"] == "not a domain"
    assert catalog.sites.all() == []
    _site(client, csrf)
    (site,) = catalog.sites.all()
    assert site.id is not None
    dup = _site(client, csrf, domain="lyricshub.example.com")
    assert dup.status_code == 409 and "is already registered" in dup.text  # type: ignore[attr-defined]
    low = _placement(client, csrf, site.id, floor_cpm="1.00", sizes=["728x90"], format="video")
    assert low.status_code == 422  # type: ignore[attr-defined]
    page = low.text  # type: ignore[attr-defined]
    assert "may not be below the network floor (2.50)" in page
    assert "728x90 is not a supported video size" in page
    assert element(page, "floor-cpm")["aria-invalid"] == "true"
    assert element(page, "sizes")["aria-invalid"] == "true"
    none = _placement(client, csrf, site.id, sizes=[])
    assert none.status_code == 422 and "at least one size" in none.text  # type: ignore[attr-defined]
    assert catalog.placements.all() == []


def test_one_publisher_cannot_open_anothers_site(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    csrf = login(client, settings, "p@example.com")
    _site(client, csrf)
    (site,) = catalog.sites.all()
    assert site.id is not None
    _placement(client, csrf, site.id)
    other = login(client, settings, "q@example.com")
    page = client.get(f"/publisher/sites/{site.id}")
    assert page.status_code == 404 and "That site does not exist." in page.text
    assert client.get(f"/publisher/sites/{site.id}?format=json").status_code == 404
    resp = _placement(client, other, site.id, placement_name="Sneaky")
    assert resp.status_code == 404  # type: ignore[attr-defined]
    assert "Lyrics Hub" not in client.get("/publisher").text
    assert client.get("/publisher?format=json").json()["sites"] == []
    assert len(catalog.placements.all()) == 1
    csrf = login(client, settings, "a@example.com")
    assert client.get("/publisher").status_code == 403
    assert client.get(f"/publisher/sites/{site.id}").status_code == 403
    assert _site(client, csrf, domain="adv.example.com").status_code == 403  # type: ignore[attr-defined]


def test_admin_sees_every_site_and_picks_the_publisher(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    csrf = login(client, settings, "p@example.com")
    _site(client, csrf)
    csrf = login(client, settings, "admin@example.com")
    missing = _site(client, csrf, domain="radio.example.com", name="Radio")
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert "choose the publisher this site is for" in missing.text  # type: ignore[attr-defined]
    ok = _site(
        client, csrf, domain="radio.example.com", name="Radio",
        publisher_id=str(world.pub_q.publisher_id),
    )  # fmt: skip
    assert ok.status_code == 303  # type: ignore[attr-defined]
    page = client.get("/publisher")
    assert page.status_code == 200
    assert "<h1>Inventory</h1>" in page.text
    assert "Lyrics Hub" in page.text and "Indie Radio" in page.text
    sites = client.get("/publisher?format=json").json()["sites"]
    assert {(s["domain"], s["publisher"]) for s in sites} == {
        ("lyricshub.example.com", "Lyrics Hub"),
        ("radio.example.com", "Indie Radio"),
    }
