"""Form errors for the catalog pages: domain field errors mapped onto the inputs that caused
them, so a page can show each reason next to its field (linked by aria-describedby) and list
them all in one summary announced with role=alert."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from backbeat.errors import BackbeatError, FieldError


def input_id(name: str) -> str:
    """The HTML id of the input called `name` (dots are awkward in CSS selectors)."""
    return name.replace(".", "-").replace("_", "-")


@dataclass
class FormErrors:
    """Reasons per input name, plus reasons that belong to no input on the page."""

    by_field: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    status: int = 422

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)

    def add(self, name: str | None, reason: str) -> None:
        if name is None:
            if reason not in self.general:
                self.general.append(reason)
            return
        reasons = self.by_field.setdefault(name, [])
        if reason not in reasons:
            reasons.append(reason)

    def absorb(
        self,
        exc: BackbeatError,
        aliases: Mapping[str, str] | None = None,
        known: Iterable[str] | None = None,
    ) -> None:
        """Take every field of `exc`, renaming domain fields by `aliases`. A field not in
        `known` (when given) is kept as a general reason that still names the field."""
        names = set(known) if known is not None else None
        self.status = exc.status if exc.status >= 400 else self.status
        if not exc.fields:
            self.add(None, exc.message)
            return
        for item in exc.fields:
            self.add_field_error(item, aliases or {}, names)

    def add_field_error(
        self, item: FieldError, aliases: Mapping[str, str], known: set[str] | None
    ) -> None:
        name = aliases.get(item.field, item.field)
        if known is not None and name not in known:
            self.add(None, f"{item.field}: {item.reason}")
        else:
            self.add(name, item.reason)

    def get(self, name: str) -> str:
        """All reasons for one input as one sentence ('' when it has none)."""
        return "; ".join(self.by_field.get(name, []))

    def has(self, name: str) -> bool:
        return name in self.by_field

    def only(self, names: Iterable[str]) -> FormErrors:
        """The errors of these inputs (general ones are kept)."""
        keep = set(names)
        out = FormErrors(status=self.status)
        out.general = list(self.general)
        out.by_field = {k: v for k, v in self.by_field.items() if k in keep}
        return out

    def summary(self, labels: Mapping[str, str]) -> list[tuple[str | None, str]]:
        """(input id or None, message) pairs for the error summary at the top of a form."""
        out: list[tuple[str | None, str]] = [(None, g) for g in self.general]
        for name, reasons in self.by_field.items():
            label = labels.get(name, name.replace("_", " ").capitalize())
            out.append((input_id(name), f"{label}: {'; '.join(reasons)}"))
        return out

    def to_json(self) -> list[dict[str, str]]:
        items = [{"field": "", "reason": g} for g in self.general]
        for name, reasons in self.by_field.items():
            items.extend({"field": name, "reason": r} for r in reasons)
        return items


def errors_of(
    exc: BackbeatError,
    aliases: Mapping[str, str] | None = None,
    known: Iterable[str] | None = None,
) -> FormErrors:
    """FormErrors holding the fields of one domain error."""
    out = FormErrors()
    out.absorb(exc, aliases, known)
    return out
