"""Accounts: argon2 password hashes, API tokens (shown once, stored hashed), principals.

Tokens look like ``bb_<8-char prefix>_<43-char secret>``. They carry 256 bits of entropy, so
a fast SHA-256 digest is a safe way to store them (unlike passwords, which get argon2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backbeat.domain.accounts import ApiToken, Principal, Role, User, check_password
from backbeat.errors import Conflict, FieldError, NotFound, Unauthorized, ValidationFailed
from backbeat.store.catalog.protocol import Catalog

TOKEN_PREFIX = "bb_"  # noqa: S105 - a public marker, not a secret
_hasher = PasswordHasher()
# A real argon2 hash used to spend the same time when the e-mail is unknown (no user oracle).
_DUMMY_HASH = _hasher.hash("backbeat-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def principal_of(user: User) -> Principal:
    assert user.id is not None
    return Principal(user.id, user.role, user.advertiser_id, user.publisher_id)


def create_user(
    catalog: Catalog,
    *,
    email: str,
    password: str,
    role: Role,
    advertiser_id: int | None = None,
    publisher_id: int | None = None,
) -> User:
    """Create a user after checking the tenant it belongs to exists."""
    email = email.strip().lower()
    if catalog.users.by_email(email) is not None:
        raise Conflict("a user with this e-mail exists", [FieldError("email", "already taken")])
    if advertiser_id is not None and catalog.advertisers.find(advertiser_id) is None:
        raise ValidationFailed.one("advertiser_id", f"advertiser {advertiser_id} does not exist")
    if publisher_id is not None and catalog.publishers.find(publisher_id) is None:
        raise ValidationFailed.one("publisher_id", f"publisher {publisher_id} does not exist")
    user = User(
        email=email,
        role=role,
        password_hash=hash_password(password),
        advertiser_id=advertiser_id,
        publisher_id=publisher_id,
    ).validate()
    return catalog.users.add(user)


def login(catalog: Catalog, email: str, password: str) -> User:
    """Check a password. Unknown e-mail and wrong password look the same to the caller."""
    user = catalog.users.by_email(email.strip().lower())
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise Unauthorized("wrong e-mail or password")
    if not user.active or not verify_password(user.password_hash, password):
        raise Unauthorized("wrong e-mail or password")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    catalog: Catalog,
    user_id: int,
    name: str,
    *,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; the plaintext is returned once and never stored."""
    moment = now or datetime.now(UTC)
    label = name.strip()
    if not label or len(label) > 100:
        raise ValidationFailed.one("name", "1 to 100 characters")
    if expires_at is not None and expires_at <= moment:
        raise ValidationFailed.one("expires_at", "must be in the future")
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user_id=user_id,
        name=label,
        prefix=prefix,
        token_hash=_digest(plaintext),
        created_at=moment,
        expires_at=expires_at,
    )
    return catalog.tokens.add(token), plaintext


def revoke_token(catalog: Catalog, token_id: int, *, owner: Principal, now: datetime) -> ApiToken:
    token = catalog.tokens.find(token_id)
    if token is None or (token.user_id != owner.user_id and not owner.is_admin):
        raise NotFound("token", token_id)
    if token.revoked_at is not None:
        return token
    return catalog.tokens.update(replace(token, revoked_at=now))


def authenticate_token(catalog: Catalog, plaintext: str, now: datetime) -> Principal:
    """Resolve a bearer token to its principal, or raise Unauthorized."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        raise Unauthorized("invalid API token")
    token = catalog.tokens.by_hash(_digest(plaintext))
    if token is None or not hmac.compare_digest(token.token_hash, _digest(plaintext)):
        raise Unauthorized("invalid API token")
    if not token.usable(now):
        raise Unauthorized("API token revoked or expired")
    user = catalog.users.find(token.user_id)
    if user is None or not user.active:
        raise Unauthorized("API token's user is disabled")
    assert token.id is not None
    catalog.tokens.touch(token.id, now)
    return principal_of(user)
