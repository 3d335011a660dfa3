"""Users and API tokens. Admins manage users; everyone manages their own tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, EmailStr, Field

from backbeat.domain.accounts import ApiToken, Role, User
from backbeat.errors import NotFound
from backbeat.web.api.common import Out, PageOut, Paging, Strict, list_page, patch_fields
from backbeat.web.api.deps import CatalogDep, ClockDep, PrincipalDep, ScopeDep
from backbeat.web.auth import create_user, hash_password, issue_token, revoke_token

router = APIRouter(tags=["users"])


class UserIn(Strict):
    email: EmailStr
    password: Annotated[str, Field(min_length=10, max_length=1024)]
    role: Role
    advertiser_id: int | None = None
    publisher_id: int | None = None


class UserPatch(Strict):
    password: Annotated[str, Field(min_length=10, max_length=1024)] | None = None
    active: bool | None = None


class UserOut(Out):
    id: int
    email: str
    role: Role
    advertiser_id: int | None
    publisher_id: int | None
    active: bool
    created_at: datetime | None


class TokenIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    expires_at: AwareDatetime | None = None


class TokenOut(Out):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="shown once; store it now")


def render(u: User) -> UserOut:
    return UserOut.model_validate(u)


def render_token(t: ApiToken) -> TokenOut:
    return TokenOut.model_validate(t)


@router.get("/me", response_model=UserOut)
def me(catalog: CatalogDep, principal: PrincipalDep) -> UserOut:
    return render(catalog.users.get(principal.user_id))


@router.get("/users", response_model=PageOut[UserOut])
def list_users(
    catalog: CatalogDep,
    scope: ScopeDep,
    paging: Annotated[Paging, Depends()],
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> PageOut[UserOut]:
    scope.require_admin()
    where: dict[str, Any] = {"role": role, "q": q}
    return list_page(catalog.users, paging, where, render)


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserIn, catalog: CatalogDep, scope: ScopeDep) -> UserOut:
    scope.require_admin()
    with catalog.transaction():
        user = create_user(
            catalog,
            email=body.email,
            password=body.password,
            role=body.role,
            advertiser_id=body.advertiser_id,
            publisher_id=body.publisher_id,
        )
    return render(user)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: int, catalog: CatalogDep, scope: ScopeDep) -> UserOut:
    if user_id != scope.principal.user_id:
        scope.require_admin()
    return render(catalog.users.get(user_id))


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: int, body: UserPatch, catalog: CatalogDep, scope: ScopeDep) -> UserOut:
    sent = patch_fields(body)
    if user_id != scope.principal.user_id or "active" in sent:
        scope.require_admin()
    with catalog.transaction():
        user = catalog.users.get(user_id)
        if body.password is not None:
            user = replace(user, password_hash=hash_password(body.password))
        if body.active is not None:
            user = replace(user, active=body.active)
        return render(catalog.users.update(user))


@router.get("/tokens", response_model=PageOut[TokenOut])
def list_tokens(
    catalog: CatalogDep, principal: PrincipalDep, paging: Annotated[Paging, Depends()]
) -> PageOut[TokenOut]:
    return list_page(catalog.tokens, paging, {"user_id": principal.user_id}, render_token)


@router.post("/tokens", response_model=NewTokenOut, status_code=201)
def create_token(
    body: TokenIn, catalog: CatalogDep, principal: PrincipalDep, clock: ClockDep
) -> NewTokenOut:
    token, plaintext = issue_token(
        catalog, principal.user_id, body.name, expires_at=body.expires_at, now=clock()
    )
    return NewTokenOut(**render_token(token).model_dump(), token=plaintext)


@router.delete("/tokens/{token_id}", status_code=204)
def delete_token(
    token_id: int, catalog: CatalogDep, principal: PrincipalDep, clock: ClockDep
) -> None:
    if token_id <= 0:
        raise NotFound("token", token_id)
    revoke_token(catalog, token_id, owner=principal, now=clock())
