"""Dashboard plumbing: templates, the signed-in user, role navigation, CSRF-checked forms,
and the JSON alternative every page offers (`?format=json`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any

import jinja2
import orjson
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from backbeat.domain.accounts import Principal, Role, User
from backbeat.domain.money import format_money
from backbeat.web.api.tenancy import Scope
from backbeat.web.auth import principal_of
from backbeat.web.dashboard import session as sessions
from backbeat.web.runtime import Runtime

NAV: dict[Role, list[tuple[str, str]]] = {
    Role.ADMIN: [
        ("/network", "Network"),
        ("/network/review", "Creative review"),
        ("/network/ivt", "Invalid traffic"),
        ("/network/accounts", "Advertisers & publishers"),
        ("/campaigns", "Campaigns"),
        ("/publisher", "Inventory"),
    ],
    Role.ADVERTISER: [
        ("/campaigns", "My campaigns"),
        ("/campaigns/new", "Start a campaign"),
        ("/compare", "Other platforms"),
    ],
    Role.PUBLISHER: [
        ("/publisher", "My sites"),
        ("/publisher/earnings", "Earnings"),
    ],
}


@dataclass(frozen=True)
class Viewer:
    """The signed-in person on a dashboard request."""

    user: User
    principal: Principal
    session: sessions.Session

    @property
    def scope(self) -> Scope:
        return Scope(self.principal)

    @property
    def role(self) -> Role:
        return self.principal.role


def _percent(value: object, places: int = 2) -> str:
    if value is None:
        return "–"
    return f"{Decimal(str(value)) * 100:.{places}f}%"


def _money(micros: object, currency: str = "USD") -> str:
    if micros is None:
        return "–"
    return format_money(int(str(micros)), currency)


def _count(value: object) -> str:
    return "–" if value is None else f"{int(str(value)):,}"


def build_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("backbeat.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["percent"] = _percent
    env.filters["money"] = _money
    env.filters["count"] = _count
    return Jinja2Templates(env=env)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def viewer_of(request: Request) -> Viewer | None:
    rt = runtime(request)
    sess = sessions.current(request, rt.secret)
    if sess is None:
        return None
    user = rt.catalog.users.find(sess.user_id)
    if user is None or not user.active:
        return None
    return Viewer(user, principal_of(user), sess)


def wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json" or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError


def render(
    request: Request,
    viewer: Viewer | None,
    template: str,
    context: Mapping[str, Any],
    *,
    data: Mapping[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """HTML for people; the same data as JSON with `?format=json`."""
    if data is not None and wants_json(request):
        body = orjson.dumps(data, default=_jsonable, option=orjson.OPT_NON_STR_KEYS)
        return Response(body, status, media_type="application/json")
    templates: Jinja2Templates = request.app.state.templates
    ctx = {
        "request": request,
        "viewer": viewer,
        "nav": NAV[viewer.role] if viewer else [],
        "csrf": viewer.session.csrf if viewer else "",
        "path": request.url.path,
        "currency": runtime(request).settings.currency,
        **context,
    }
    return templates.TemplateResponse(request, template, ctx, status_code=status)


Handler = Callable[[Request, Viewer], Awaitable[Response]]


def page(*roles: Role) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Require a signed-in user with one of `roles` (any role when none are given); check
    the CSRF token on POST."""

    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        @wraps(fn)
        async def inner(request: Request) -> Response:
            viewer = viewer_of(request)
            if viewer is None:
                if wants_json(request):
                    return Response(
                        b'{"error":{"code":"unauthorized"}}', 401, media_type="application/json"
                    )
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            if roles and viewer.role not in roles:
                return render(
                    request,
                    viewer,
                    "error.html",
                    {
                        "title": "Not for your account",
                        "message": "This page belongs to another kind of account.",
                    },
                    status=403,
                )
            if request.method == "POST":
                form = await request.form()
                if not sessions.csrf_ok(viewer.session, _str(form.get("csrf"))):
                    return render(
                        request,
                        viewer,
                        "error.html",
                        {
                            "title": "Form expired",
                            "message": "Reload the page and submit the form again.",
                        },
                        status=403,
                    )
            return await fn(request, viewer)

        return inner

    return wrap


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def not_found(request: Request, viewer: Viewer, what: str = "page") -> Response:
    return render(
        request,
        viewer,
        "error.html",
        {"title": "Not found", "message": f"That {what} does not exist."},
        status=404,
    )


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status)
