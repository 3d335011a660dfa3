"""Domain errors. Each carries an HTTP-like status, a stable code, and the offending fields.

The domain raises these; the web layer maps them to responses. Nothing below `web/`
ever raises an HTTP exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field. `field` is a dotted path such as `targeting.countries`."""

    field: str
    reason: str


@dataclass
class BackbeatError(Exception):
    """Base of every error Backbeat reports to a caller."""

    message: str
    fields: list[FieldError] = field(default_factory=list)
    status: int = 400
    code: str = "bad_request"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def to_dict(self) -> dict[str, object]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "fields": [{"field": f.field, "reason": f.reason} for f in self.fields],
            }
        }


class ValidationFailed(BackbeatError):
    """Input breaks a rule. Status 422."""

    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message, fields or [], 422, "validation_failed")

    @classmethod
    def one(cls, field_name: str, reason: str) -> ValidationFailed:
        return cls(f"{field_name}: {reason}", [FieldError(field_name, reason)])

    @classmethod
    def many(cls, problems: Mapping[str, str]) -> ValidationFailed:
        items = [FieldError(k, v) for k, v in problems.items()]
        summary = "; ".join(f"{f.field}: {f.reason}" for f in items)
        return cls(summary, items)


class NotFound(BackbeatError):
    """The object does not exist, or belongs to another tenant (we never reveal which)."""

    def __init__(self, kind: str, ident: object = None) -> None:
        what = f"{kind} {ident}" if ident is not None else kind
        super().__init__(f"{what} not found", [], 404, "not_found")


class Conflict(BackbeatError):
    """The request is well-formed but clashes with current state (duplicate, illegal transition)."""

    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message, fields or [], 409, "conflict")


class IllegalTransition(Conflict):
    """A status change that the lifecycle does not allow."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(
            f"{kind} cannot go from {current} to {target}",
            [FieldError("status", f"illegal transition {current} -> {target}")],
        )
        self.code = "illegal_transition"


class Unauthorized(BackbeatError):
    """No valid credentials."""

    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message, [], 401, "unauthorized")


class Forbidden(BackbeatError):
    """Valid credentials, but the role may not do this."""

    def __init__(self, message: str = "not allowed for your role") -> None:
        super().__init__(message, [], 403, "forbidden")


class PayloadTooLarge(BackbeatError):
    """An upload or body over the configured limit."""

    def __init__(self, field_name: str, limit: int) -> None:
        super().__init__(
            f"{field_name} is larger than {limit} bytes",
            [FieldError(field_name, f"larger than {limit} bytes")],
            413,
            "payload_too_large",
        )


class RateLimited(BackbeatError):
    """Too many attempts; retry later."""

    def __init__(self, message: str = "too many attempts, try again later") -> None:
        super().__init__(message, [], 429, "rate_limited")


class ConfigError(Exception):
    """An invalid setting. The message names the setting (environment variable) at fault."""
