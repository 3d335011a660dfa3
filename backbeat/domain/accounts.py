"""Users, roles and API tokens. A user belongs to the network (admin) or to one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from backbeat.domain.rules import Problems
from backbeat.errors import ValidationFailed


class Role(StrEnum):
    ADMIN = "admin"  # the network operator
    ADVERTISER = "advertiser"  # a member of one advertiser
    PUBLISHER = "publisher"  # a member of one publisher


MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    email: str
    role: Role
    password_hash: str
    advertiser_id: int | None = None
    publisher_id: int | None = None
    active: bool = True
    id: int | None = None
    created_at: datetime | None = None

    def validate(self) -> User:
        p = Problems()
        local, _, domain = self.email.partition("@")
        p.check(bool(local) and bool(domain) and len(self.email) <= 254, "email", "not an email")
        if self.role is Role.ADMIN:
            p.check(
                self.advertiser_id is None and self.publisher_id is None,
                "role",
                "an admin belongs to no tenant",
            )
        elif self.role is Role.ADVERTISER:
            p.check(self.advertiser_id is not None, "advertiser_id", "required for this role")
            p.check(self.publisher_id is None, "publisher_id", "not allowed for this role")
        else:
            p.check(self.publisher_id is not None, "publisher_id", "required for this role")
            p.check(self.advertiser_id is None, "advertiser_id", "not allowed for this role")
        p.raise_if_any()
        return self


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.one("password", f"at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise ValidationFailed.one("password", "at most 1024 characters")
    return password


@dataclass(frozen=True)
class ApiToken:
    """A bearer token. Only its hash is kept; `prefix` lets a user tell tokens apart."""

    user_id: int
    name: str
    prefix: str
    token_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    id: int | None = None

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and the tenant their calls are scoped to."""

    user_id: int
    role: Role
    advertiser_id: int | None = None
    publisher_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
