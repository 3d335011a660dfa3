from __future__ import annotations

from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.web.dashboard.session import decode
from tests.web.conftest import PASSWORD, World


def _login(client: TestClient, email: str, password: str = PASSWORD, nxt: str = "") -> object:
    return client.post(
        "/login", data={"email": email, "password": password, "next": nxt}, follow_redirects=False
    )


def test_login_redirects_each_role_home(client: TestClient, world: World) -> None:
    for email, home in (
        ("admin@example.com", "/network"),
        ("a@example.com", "/campaigns"),
        ("p@example.com", "/publisher"),
    ):
        client.cookies.clear()
        resp = _login(client, email)
        assert resp.status_code == 303, email  # type: ignore[attr-defined]
        assert resp.headers["location"] == home  # type: ignore[attr-defined]
        cookie = resp.headers["set-cookie"]  # type: ignore[attr-defined]
        assert "bb_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_wrong_password_and_unknown_email_look_the_same(client: TestClient, world: World) -> None:
    wrong = _login(client, "a@example.com", "not the password")
    unknown = _login(client, "nobody@example.com", "not the password")
    for resp in (wrong, unknown):
        assert resp.status_code == 401  # type: ignore[attr-defined]
        assert "Wrong e-mail or password." in resp.text  # type: ignore[attr-defined]
        assert "bb_session" not in resp.headers.get("set-cookie", "")  # type: ignore[attr-defined]


def test_attempts_are_rate_limited(client: TestClient, world: World, settings: Settings) -> None:
    for _ in range(settings.login_attempts_per_15min):
        assert _login(client, "a@example.com", "wrong wrong").status_code == 401  # type: ignore[attr-defined]
    blocked = _login(client, "a@example.com")  # even the right password waits now
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many sign-in attempts" in blocked.text  # type: ignore[attr-defined]


def test_next_cannot_leave_the_site(client: TestClient, world: World) -> None:
    for evil in ("https://evil.example.com/", "//evil.example.com/x", "http:evil"):
        client.cookies.clear()
        resp = _login(client, "a@example.com", nxt=evil)
        assert resp.headers["location"] == "/campaigns"  # type: ignore[attr-defined]
    client.cookies.clear()
    ok = _login(client, "a@example.com", nxt="/campaigns/new")
    assert ok.headers["location"] == "/campaigns/new"  # type: ignore[attr-defined]


def test_logout_needs_the_csrf_token(
    client: TestClient, world: World, settings: Settings
) -> None:
    _login(client, "a@example.com")
    session = decode(client.cookies.get("bb_session"), settings.secret())
    assert session is not None
    forged = client.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    ok = client.post("/logout", data={"csrf": session.csrf}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/login"


def test_session_reads_api_but_cannot_write_without_csrf(client: TestClient, world: World) -> None:
    _login(client, "a@example.com")
    assert client.get("/api/v1/me").json()["email"] == "a@example.com"
    resp = client.post("/api/v1/tokens", json={"name": "via cookie"})
    assert resp.status_code == 401


def test_tampered_session_cookie_is_ignored(client: TestClient, world: World) -> None:
    _login(client, "a@example.com")
    value = client.cookies.get("bb_session") or ""
    client.cookies.clear()
    client.cookies.set("bb_session", value[:-2] + ("xx" if value[-2:] != "xx" else "yy"))
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
