"""Advertisers and publishers management: listing, new tenants, new users with a password
shown once, deactivation, and everyone but admins kept out."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.domain.accounts import Role
from backbeat.store.catalog import SqlCatalog
from tests.web.conftest import PASSWORD, World
from tests.web.dashboard.pages import described_by, element, login


def test_lists_tenants_and_their_users(
    client: TestClient, world: World, settings: Settings
) -> None:
    login(client, settings, "admin@example.com")
    resp = client.get("/network/accounts")
    assert resp.status_code == 200
    html = resp.text
    for text in ("Nova Lux (artist)", "Granite Records", "Lyrics Hub", "Indie Radio"):
        assert text in html
    row = html[html.index(f'id="advertiser-{world.adv_a.advertiser_id}"') :]
    assert row.index("a@example.com") < row.index("</tr>")
    assert element(html, f"deactivate-user-{world.adv_a.user_id}") is not None
    assert f'id="deactivate-user-{world.admin.user_id}"' not in html  # not yourself
    data = client.get("/network/accounts?format=json").json()
    names = {a["name"]: a for a in data["advertisers"]}
    assert [u["email"] for u in names["Nova Lux (artist)"]["users"]] == ["a@example.com"]
    assert {p["name"] for p in data["publishers"]} == {"Lyrics Hub", "Indie Radio"}
    assert [u["email"] for u in data["admins"]] == ["admin@example.com"]
    assert all("password_hash" not in u for a in data["advertisers"] for u in a["users"])


def test_add_advertiser_and_publisher(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    csrf = login(client, settings, "admin@example.com")
    resp = client.post(
        "/network/accounts/advertisers",
        data={"csrf": csrf, "adv_name": "Echo Label", "adv_contact_email": "hi@echo.example"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    (echo,) = [a for a in catalog.advertisers.all() if a.name == "Echo Label"]
    assert echo.contact_email == "hi@echo.example"
    assert "Added the advertiser “Echo Label”." in client.get(resp.headers["location"]).text
    bad = client.post(
        "/network/accounts/advertisers",
        data={"csrf": csrf, "adv_name": "", "adv_contact_email": "nope"},
    )
    assert bad.status_code == 422
    assert element(bad.text, "adv-name")["aria-invalid"] == "true"
    assert described_by(bad.text, "adv-contact-email") == ["err-adv-contact-email"]
    assert "not an email address" in bad.text and element(bad.text, "error-summary")
    pub = client.post(
        "/network/accounts/publishers",
        data={"csrf": csrf, "pub_name": "Metal Zine", "pub_revenue_share_pct": "65"},
        follow_redirects=False,
    )
    assert pub.status_code == 303
    (zine,) = [p for p in catalog.publishers.all() if p.name == "Metal Zine"]
    assert zine.revenue_share_pct == 65
    for share, reason in (("abc", "a whole percentage"), ("150", "between 0 and 100")):
        bad = client.post(
            "/network/accounts/publishers",
            data={"csrf": csrf, "pub_name": "X", "pub_revenue_share_pct": share},
        )
        assert bad.status_code == 422 and reason in bad.text
        assert element(bad.text, "pub-revenue-share-pct")["value"] == share


def test_new_user_gets_a_password_shown_once(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    csrf = login(client, settings, "admin@example.com")
    member_of = f"publisher:{world.pub_q.publisher_id}"
    resp = client.post(
        "/network/accounts/users",
        data={"csrf": csrf, "email": "New.Editor@Radio.example", "member_of": member_of},
    )
    assert resp.status_code == 201
    assert resp.headers["cache-control"] == "no-store"
    password = re.search(r'<code class="snippet" id="new-password">([^<]+)</code>', resp.text)
    assert password is not None and len(password.group(1)) >= 20
    assert element(resp.text, "copy-new-password")["data-copy"] == "new-password"
    assert element(resp.text, "status-new-password")["aria-live"] == "polite"
    user = catalog.users.by_email("new.editor@radio.example")
    assert user is not None and user.role is Role.PUBLISHER
    assert user.publisher_id == world.pub_q.publisher_id
    assert password.group(1) not in client.get("/network/accounts").text
    # The new user signs in with it, and lands on the publisher pages.
    client.cookies.clear()
    signed = client.post(
        "/login",
        data={"email": "new.editor@radio.example", "password": password.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/publisher"


def test_user_form_errors(client: TestClient, world: World, settings: Settings) -> None:
    csrf = login(client, settings, "admin@example.com")
    taken = client.post(
        "/network/accounts/users",
        data={"csrf": csrf, "email": "A@example.com", "member_of": "admin"},
    )
    assert taken.status_code == 409 and "already taken" in taken.text
    assert element(taken.text, "email")["aria-invalid"] == "true"
    for member_of in ("", "advertiser:abc", "advertiser:9999"):
        bad = client.post(
            "/network/accounts/users",
            data={"csrf": csrf, "email": "x@example.com", "member_of": member_of},
        )
        assert bad.status_code == 422, member_of
        assert described_by(bad.text, "member-of") == ["member-of-hint", "err-member-of"]
    json_bad = client.post(
        "/network/accounts/users?format=json",
        data={"csrf": csrf, "email": "not-an-email", "member_of": "admin"},
    )
    assert json_bad.status_code == 422
    assert json_bad.json()["errors"]["user"][0]["field"] == "email"


def test_deactivate_and_reactivate(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    csrf = login(client, settings, "admin@example.com")
    url = f"/network/accounts/users/{world.adv_b.user_id}"
    resp = client.post(url, data={"csrf": csrf, "active": "0"}, follow_redirects=False)
    assert resp.status_code == 303
    assert "Deactivated b@example.com" in client.get(resp.headers["location"]).text
    assert catalog.users.get(world.adv_b.user_id).active is False
    # Neither the password nor the API token works any more.
    assert client.get("/api/v1/me", headers=world.adv_b.headers).status_code == 401
    client.cookies.clear()
    denied = client.post("/login", data={"email": "b@example.com", "password": PASSWORD})
    assert denied.status_code == 401
    csrf = login(client, settings, "admin@example.com")
    assert element(client.get("/network/accounts").text, f"reactivate-user-{world.adv_b.user_id}")
    client.post(url, data={"csrf": csrf, "active": "1"})
    assert catalog.users.get(world.adv_b.user_id).active is True
    vague = client.post(url, data={"csrf": csrf})
    assert vague.status_code == 422 and catalog.users.get(world.adv_b.user_id).active is True
    own = client.post(
        f"/network/accounts/users/{world.admin.user_id}", data={"csrf": csrf, "active": "0"}
    )
    assert own.status_code == 409 and "cannot deactivate your own account" in own.text
    assert catalog.users.get(world.admin.user_id).active is True
    missing = client.post("/network/accounts/users/99999", data={"csrf": csrf, "active": "0"})
    assert missing.status_code == 404


def test_only_admins(client: TestClient, world: World, settings: Settings) -> None:
    for email in ("a@example.com", "p@example.com"):
        csrf = login(client, settings, email)
        assert client.get("/network/accounts").status_code == 403
        resp = client.post(
            "/network/accounts/users",
            data={"csrf": csrf, "email": "evil@example.com", "member_of": "admin"},
        )
        assert resp.status_code == 403
        blocked = client.post(
            f"/network/accounts/users/{world.admin.user_id}", data={"csrf": csrf, "active": "0"}
        )
        assert blocked.status_code == 403
    json_out = client.get("/network/accounts?format=json")
    assert json_out.status_code == 403
