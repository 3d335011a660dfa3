"""FastAPI dependencies: the catalog, settings, clock and the calling principal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from backbeat.config import Settings
from backbeat.domain.accounts import Principal
from backbeat.errors import Unauthorized
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api.tenancy import Scope
from backbeat.web.auth import authenticate_token

SESSION_PRINCIPAL_KEY = "principal"


def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock or (lambda: datetime.now(UTC))


def get_principal(request: Request) -> Principal:
    """Bearer token first; else the dashboard's session (so pages can call the API as JSON)."""
    header = request.headers.get("authorization", "")
    catalog = get_catalog(request)
    now = get_clock(request)()
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        return authenticate_token(catalog, token.strip(), now)
    resolver = getattr(request.app.state, "session_principal", None)
    if resolver is not None:
        principal: Principal | None = resolver(request)
        if principal is not None:
            return principal
    raise Unauthorized()


def get_scope(principal: Annotated[Principal, Depends(get_principal)]) -> Scope:
    return Scope(principal)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ScopeDep = Annotated[Scope, Depends(get_scope)]
