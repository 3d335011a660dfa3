"""Small validation helpers shared by the domain modules."""

from __future__ import annotations

from backbeat.errors import FieldError, ValidationFailed


class Problems:
    """Collects field problems so one request reports all of them at once."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, reason: str) -> None:
        self.items.append(FieldError(field, reason))

    def check(self, ok: bool, field: str, reason: str) -> None:
        if not ok:
            self.add(field, reason)

    def capture(self, exc: ValidationFailed) -> None:
        self.items.extend(exc.fields)

    def raise_if_any(self) -> None:
        if self.items:
            summary = "; ".join(f"{p.field}: {p.reason}" for p in self.items)
            raise ValidationFailed(summary, list(self.items))


def check_name(value: str, field: str = "name", max_len: int = 200) -> str:
    text = value.strip()
    if not text:
        raise ValidationFailed.one(field, "must not be empty")
    if len(text) > max_len:
        raise ValidationFailed.one(field, f"at most {max_len} characters")
    if any(ord(ch) < 32 for ch in text):
        raise ValidationFailed.one(field, "must not contain control characters")
    return text
