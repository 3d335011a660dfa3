"""Signed session cookies and CSRF tokens for the dashboard.

The cookie holds `{"uid", "csrf", "iat"}` as base64url JSON plus an HMAC-SHA256 tag keyed
from the server secret. It is HttpOnly and SameSite=Lax, and Secure when
BACKBEAT_SECURE_COOKIES is on (behind HTTPS). Sessions last 12 hours. Every form carries the
session's CSRF token, and every POST is checked against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "bb_session"
MAX_AGE_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    user_id: int
    csrf: str
    issued_at: int

    def expired(self, now: float) -> bool:
        return now - self.issued_at > MAX_AGE_S


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, b"backbeat/session/v1", hashlib.sha256).digest()


def _tag(secret: bytes, body: bytes) -> str:
    mac = hmac.new(_key(secret), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def encode(session: Session, secret: bytes) -> str:
    body = base64.urlsafe_b64encode(
        orjson.dumps({"uid": session.user_id, "csrf": session.csrf, "iat": session.issued_at})
    ).rstrip(b"=")
    return f"{body.decode()}.{_tag(secret, body)}"


def decode(value: str | None, secret: bytes, now: float | None = None) -> Session | None:
    if not value or len(value) > 600:
        return None
    body, _, tag = value.partition(".")
    if not hmac.compare_digest(tag, _tag(secret, body.encode())):
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        session = Session(int(data["uid"]), str(data["csrf"]), int(data["iat"]))
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None
    return None if session.expired(now if now is not None else time.time()) else session


def new_session(user_id: int, now: float | None = None) -> Session:
    return Session(user_id, secrets.token_urlsafe(24), int(now if now is not None else time.time()))


def current(request: Request, secret: bytes) -> Session | None:
    return decode(request.cookies.get(COOKIE), secret)


def set_cookie(response: Response, session: Session, secret: bytes, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        encode(session, secret),
        max_age=MAX_AGE_S,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )


def clear_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=secure, samesite="lax")


def csrf_ok(session: Session | None, submitted: str | None) -> bool:
    return (
        session is not None
        and submitted is not None
        and hmac.compare_digest(session.csrf, submitted)
    )
