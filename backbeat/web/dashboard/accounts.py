"""Advertisers and publishers management (admin): the tenants, their member users, new
tenants and users (a generated password shown once), and deactivating users."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backbeat.domain.accounts import Role, User
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.errors import BackbeatError, ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.auth import create_user
from backbeat.web.dashboard.base import Viewer, field, not_found, page, render, runtime
from backbeat.web.dashboard.form_errors import FormErrors, errors_of

ADVERTISER_FIELDS = {"name": "adv_name", "contact_email": "adv_contact_email"}
PUBLISHER_FIELDS = {
    "name": "pub_name",
    "contact_email": "pub_contact_email",
    "revenue_share_pct": "pub_revenue_share_pct",
}
USER_FIELDS = {
    "email": "email",
    "role": "member_of",
    "advertiser_id": "member_of",
    "publisher_id": "member_of",
}
LABELS = {
    "adv_name": "Advertiser name", "adv_contact_email": "Contact e-mail",
    "pub_name": "Publisher name", "pub_contact_email": "Contact e-mail",
    "pub_revenue_share_pct": "Revenue share", "email": "E-mail", "member_of": "Belongs to",
}  # fmt: skip
PASSWORD_BYTES = 15  # 20 URL-safe characters, about 120 bits


def _user(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "email": u.email,
        "role": u.role.value,
        "active": u.active,
        "advertiser_id": u.advertiser_id,
        "publisher_id": u.publisher_id,
        "created_at": u.created_at.isoformat() if u.created_at else None,
    }


def directory(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    """Every tenant with its members, and the network's admins."""
    users = catalog.users.all()
    by_adv: dict[int, list[dict[str, Any]]] = {}
    by_pub: dict[int, list[dict[str, Any]]] = {}
    admins = []
    for u in users:
        if u.advertiser_id is not None:
            by_adv.setdefault(u.advertiser_id, []).append(_user(u))
        elif u.publisher_id is not None:
            by_pub.setdefault(u.publisher_id, []).append(_user(u))
        else:
            admins.append(_user(u))
    advertisers = [
        {"id": a.id, "name": a.name, "contact_email": a.contact_email,
         "users": by_adv.get(a.id or 0, [])}
        for a in catalog.advertisers.all()
    ]  # fmt: skip
    publishers = [
        {"id": p.id, "name": p.name, "contact_email": p.contact_email,
         "revenue_share_pct": p.revenue_share_pct, "users": by_pub.get(p.id or 0, [])}
        for p in catalog.publishers.all()
    ]  # fmt: skip
    return {"advertisers": advertisers, "publishers": publishers, "admins": admins}


def _flash(request: Request, catalog: Catalog) -> str:
    q = request.query_params
    for key, lookup, text in (
        ("advertiser", catalog.advertisers.find, "Added the advertiser “{}”."),
        ("publisher", catalog.publishers.find, "Added the publisher “{}”."),
    ):
        raw = q.get(key, "")
        obj = lookup(int(raw)) if raw.isdigit() else None
        if obj is not None:
            return text.format(obj.name)
    for key, active, text in (
        ("deactivated", False, "Deactivated {}: they can no longer sign in or use API tokens."),
        ("reactivated", True, "Reactivated {}."),
    ):
        raw = q.get(key, "")
        user = catalog.users.find(int(raw)) if raw.isdigit() else None
        if user is not None and user.active is active:
            return text.format(user.email)
    return ""


def _show(
    request: Request,
    viewer: Viewer,
    *,
    errors: dict[str, FormErrors] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    catalog = runtime(request).catalog
    errs = errors or {}
    book = directory(catalog)
    summary: list[tuple[str | None, str]] = []
    for e in errs.values():
        summary.extend(e.summary(LABELS))
    vals = {"member_of": request.query_params.get("member_of", ""), **(values or {})}
    context = {
        "title": "Advertisers & publishers",
        **book,
        "errors": errs,
        "no_errors": FormErrors(),
        "summary": summary,
        "values": vals,
        "flash": _flash(request, catalog),
        "me": viewer.user.id,
    }
    data = {**book, "errors": {k: v.to_json() for k, v in errs.items()}}
    return render(request, viewer, "network/accounts.html", context, data=data, status=status)


@page(Role.ADMIN)
async def overview(request: Request, viewer: Viewer) -> Response:
    """GET /network/accounts."""
    return _show(request, viewer)


def _form_values(form: FormData, names: list[str]) -> dict[str, str]:
    return {n: field(form, n)[:300] for n in names}


@page(Role.ADMIN)
async def add_advertiser(request: Request, viewer: Viewer) -> Response:
    """POST /network/accounts/advertisers: name, contact e-mail."""
    form = await request.form()
    vals = _form_values(form, list(ADVERTISER_FIELDS.values()))
    catalog = runtime(request).catalog
    try:
        viewer.scope.require_admin()
        adv = Advertiser(vals["adv_name"], vals["adv_contact_email"] or None).validate()
        saved = catalog.advertisers.add(adv)
    except BackbeatError as exc:
        errs = errors_of(exc, ADVERTISER_FIELDS)
        return _show(request, viewer, errors={"advertiser": errs}, values=vals, status=exc.status)
    return RedirectResponse(f"/network/accounts?advertiser={saved.id}", status_code=303)


@page(Role.ADMIN)
async def add_publisher(request: Request, viewer: Viewer) -> Response:
    """POST /network/accounts/publishers: name, contact e-mail, revenue share (percent)."""
    form = await request.form()
    vals = _form_values(form, list(PUBLISHER_FIELDS.values()))
    catalog = runtime(request).catalog
    share = vals["pub_revenue_share_pct"] or "70"
    try:
        viewer.scope.require_admin()
        if not share.isdigit():
            raise ValidationFailed.one("revenue_share_pct", "a whole percentage, 0 to 100")
        pub = Publisher(
            vals["pub_name"], vals["pub_contact_email"] or None, revenue_share_pct=int(share)
        ).validate()
        saved = catalog.publishers.add(pub)
    except BackbeatError as exc:
        errs = errors_of(exc, PUBLISHER_FIELDS)
        return _show(request, viewer, errors={"publisher": errs}, values=vals, status=exc.status)
    return RedirectResponse(f"/network/accounts?publisher={saved.id}", status_code=303)


def _member_of(value: str) -> tuple[Role, int | None, int | None]:
    """'admin', 'advertiser:ID' or 'publisher:ID' as (role, advertiser_id, publisher_id)."""
    kind, _, ident = value.partition(":")
    if kind == "admin" and not ident:
        return Role.ADMIN, None, None
    if kind in ("advertiser", "publisher") and ident.isdigit():
        role = Role(kind)
        return (role, int(ident), None) if kind == "advertiser" else (role, None, int(ident))
    raise ValidationFailed.one("role", "choose the advertiser or publisher (or the network)")


@page(Role.ADMIN)
async def add_user(request: Request, viewer: Viewer) -> Response:
    """POST /network/accounts/users: e-mail and `member_of`; the password is generated and
    shown once, on this response only."""
    form = await request.form()
    vals = _form_values(form, ["email", "member_of"])
    catalog = runtime(request).catalog
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    try:
        viewer.scope.require_admin()
        role, adv, pub = _member_of(vals["member_of"])
        with catalog.transaction():
            user = create_user(
                catalog,
                email=vals["email"],
                password=password,
                role=role,
                advertiser_id=adv,
                publisher_id=pub,
            )
    except BackbeatError as exc:
        errs = errors_of(exc, USER_FIELDS)
        return _show(request, viewer, errors={"user": errs}, values=vals, status=exc.status)
    tenant = ""
    if user.advertiser_id is not None:
        tenant = catalog.advertisers.get(user.advertiser_id).name
    elif user.publisher_id is not None:
        tenant = catalog.publishers.get(user.publisher_id).name
    context = {"title": "User created", "created": user, "tenant": tenant, "password": password}
    response = render(
        request,
        viewer,
        "network/account_created.html",
        context,
        data={"user": _user(user), "password": password},
        status=201,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@page(Role.ADMIN)
async def set_active(request: Request, viewer: Viewer) -> Response:
    """POST /network/accounts/users/{id}: `active` = 0 deactivates, 1 reactivates."""
    user_id: int = request.path_params["user_id"]
    form = await request.form()
    wanted = field(form, "active")
    catalog = runtime(request).catalog
    if wanted not in ("0", "1"):
        errs = FormErrors()
        errs.add(None, "Say whether the user should be active (1) or not (0).")
        return _show(request, viewer, errors={"users": errs}, status=422)
    active = wanted == "1"
    with catalog.transaction():
        user = catalog.users.find(user_id)
        if user is None:
            return not_found(request, viewer, "user")
        if user.id == viewer.user.id and not active:
            errs = FormErrors()
            errs.add(None, "You cannot deactivate your own account; ask another admin.")
            return _show(request, viewer, errors={"users": errs}, status=409)
        if user.active != active:
            catalog.users.update(replace(user, active=active))
    key = "reactivated" if active else "deactivated"
    return RedirectResponse(f"/network/accounts?{key}={user_id}", status_code=303)
