"""Sign in and out. Wrong passwords get one message for every cause, and attempts are
rate-limited per e-mail and address (BACKBEAT_LOGIN_ATTEMPTS_PER_15MIN)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backbeat.domain.accounts import Role
from backbeat.errors import Unauthorized
from backbeat.web.auth import login
from backbeat.web.dashboard import session as sessions
from backbeat.web.dashboard.base import Viewer, field, page, render, runtime, viewer_of
from backbeat.web.serving_routes import client_ip

WINDOW_S = 15 * 60
HOME = {Role.ADMIN: "/network", Role.ADVERTISER: "/campaigns", Role.PUBLISHER: "/publisher"}


def _safe_next(value: str) -> str:
    """Only same-site paths: no open redirect through ?next=."""
    parts = urlsplit(value)
    if value.startswith("/") and not value.startswith("//") and not parts.netloc:
        return value
    return ""


async def login_page(request: Request) -> Response:
    viewer = viewer_of(request)
    if viewer is not None:
        return RedirectResponse(HOME[viewer.role], status_code=303)
    rt = runtime(request)
    if request.method == "GET":
        return render(
            request,
            None,
            "login.html",
            {"error": None, "email": "", "next": request.query_params.get("next", "")},
        )
    form = await request.form()
    email = field(form, "email").lower()[:254]
    password = field(form, "password")[:1024]
    nxt = _safe_next(field(form, "next"))
    now = rt.clock().timestamp()
    attempts = rt.counters.hit(f"login:{email}:{client_ip(request)}", now, WINDOW_S)
    if attempts > rt.settings.login_attempts_per_15min:
        return render(
            request,
            None,
            "login.html",
            {
                "error": "Too many sign-in attempts. Wait 15 minutes and try again.",
                "email": email,
                "next": nxt,
            },
            status=429,
        )
    try:
        user = login(rt.catalog, email, password)
    except Unauthorized:
        return render(
            request,
            None,
            "login.html",
            {"error": "Wrong e-mail or password.", "email": email, "next": nxt},
            status=401,
        )
    assert user.id is not None
    response = RedirectResponse(nxt or HOME[user.role], status_code=303)
    # sessions expire in real time, whatever clock the runtime was given
    sessions.set_cookie(
        response, sessions.new_session(user.id), rt.secret, secure=rt.settings.secure_cookies
    )
    return response


@page()
async def logout(request: Request, viewer: Viewer) -> Response:
    response = RedirectResponse("/login", status_code=303)
    sessions.clear_cookie(response, secure=runtime(request).settings.secure_cookies)
    return response


async def home(request: Request) -> Response:
    viewer = viewer_of(request)
    if viewer is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME[viewer.role], status_code=303)
