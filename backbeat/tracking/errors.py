"""Why a tracking link is refused outright (never counted, not even as invalid).

A refused link is different from an invalid event: an invalid event is authentic but
does not bill (a bot, a duplicate) and is stored with a :class:`DropReason`; a refused
link is not ours, is damaged or is too old, so nothing about it is trusted or stored.

Status codes: 403 for anything we did not sign (bad MAC, malformed, too long, a link of
another kind), 410 Gone for an authentic link past its expiry — the difference tells an
integrator whether to fix their tag or just serve a fresh ad.
"""

from __future__ import annotations

from enum import StrEnum

from backbeat.errors import BackbeatError, FieldError


class RejectReason(StrEnum):
    TOO_LONG = "too_long"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    WRONG_KIND = "wrong_kind"


class TokenRejected(BackbeatError):
    """Base of every refusal; `reason` is what the :class:`Rejections` counter tallies."""

    reason: RejectReason

    def __init__(self, reason: RejectReason, detail: str, status: int = 403) -> None:
        super().__init__(
            f"tracking link refused: {detail}", [FieldError("token", detail)], status, reason.value
        )
        self.reason = reason


class TokenTooLong(TokenRejected):
    def __init__(self, limit: int) -> None:
        super().__init__(RejectReason.TOO_LONG, f"longer than {limit} characters")


class MalformedToken(TokenRejected):
    def __init__(self, detail: str) -> None:
        super().__init__(RejectReason.MALFORMED, detail)


class BadSignature(TokenRejected):
    def __init__(self) -> None:
        super().__init__(RejectReason.BAD_SIGNATURE, "signature does not match")


class ExpiredToken(TokenRejected):
    def __init__(self, expired_at: int) -> None:
        super().__init__(RejectReason.EXPIRED, f"expired at {expired_at}", status=410)
        self.expired_at = expired_at


class WrongKind(TokenRejected):
    def __init__(self, expected: str, got: str) -> None:
        super().__init__(RejectReason.WRONG_KIND, f"a {got} link used as a {expected} link")
