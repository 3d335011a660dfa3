"""Platform name -> parser spec, and telling the platform from a header row.

:func:`detect` scores each platform by the columns it recognises, with extra weight for
columns no other platform uses (``Amount spent``, ``Clicks (destination)``, ``Impr.``). Only
platforms whose required columns are all present qualify; a tie is an error asking for an
explicit ``platform=``. :func:`require` checks an explicit choice and, when it is wrong, lists
the missing columns and names the platform the file does look like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backbeat.errors import ValidationFailed
from backbeat.importers import google_ads, meta, spotify, tiktok
from backbeat.importers.columns import PlatformSpec, bind
from backbeat.importers.errors import ImportFailed

PLATFORMS: dict[str, PlatformSpec] = {
    spec.name: spec for spec in (meta.SPEC, google_ads.SPEC, tiktok.SPEC, spotify.SPEC)
}
ALIASES = {
    "facebook": "meta",
    "instagram": "meta",
    "google": "google_ads",
    "youtube": "google_ads",
    "adwords": "google_ads",
    "spotify_ad_studio": "spotify",
}
DISTINCT_WEIGHT = 2


def names() -> list[str]:
    """Registered platform names (the generic importer is separate: it needs a mapping)."""
    return sorted(PLATFORMS)


def get(name: str) -> PlatformSpec:
    """The spec for a platform name or alias; an unknown name is a ValidationFailed."""
    key = ALIASES.get(name.strip().casefold(), name.strip().casefold())
    spec = PLATFORMS.get(key)
    if spec is None:
        known = ", ".join([*names(), "generic"])
        raise ValidationFailed.one("platform", f"unknown platform {name!r}; known: {known}")
    return spec


def known_header(header: str, extra: Sequence[PlatformSpec] = ()) -> bool:
    """True if any platform (or an extra spec, e.g. a generic mapping) knows this header."""
    return any(s.field_for(header)[0] is not None for s in (*PLATFORMS.values(), *extra))


@dataclass(frozen=True)
class Score:
    platform: str
    matched: int
    distinct: int
    missing: tuple[str, ...]

    @property
    def value(self) -> int:
        return self.matched + DISTINCT_WEIGHT * self.distinct


def score(spec: PlatformSpec, headers: Sequence[str], *, period_known: bool = False) -> Score:
    """How well a header row fits one platform."""
    binding = bind(spec, headers)
    others = [s for s in PLATFORMS.values() if s.name != spec.name]
    distinct = sum(
        1 for col in binding.columns if all(o.field_for(col.header)[0] is None for o in others)
    )
    missing = tuple(binding.missing(period_known=period_known))
    return Score(spec.name, len(binding.columns), distinct, missing)


def _scores(headers: Sequence[str], period_known: bool) -> list[Score]:
    ranked = []
    for spec in PLATFORMS.values():
        try:
            ranked.append(score(spec, headers, period_known=period_known))
        except ImportFailed:
            continue  # a header row this platform cannot even bind is not this platform
    return sorted(ranked, key=lambda s: (-s.value, s.platform))


def detect(
    headers: Sequence[str], header_row: int | None = None, *, period_known: bool = False
) -> str:
    """The platform whose export this header row is. Raises :class:`ImportFailed` when no
    platform has all its required columns, or two fit equally well."""
    ranked = _scores(headers, period_known)
    complete = [s for s in ranked if not s.missing]
    if not complete:
        best = ranked[0] if ranked else None
        hint = ""
        if best is not None and best.matched:
            spec = PLATFORMS[best.platform]
            hint = f"; closest is {spec.label}, missing: {', '.join(best.missing)}"
        raise ImportFailed.at(
            header_row, None, f"cannot tell which platform exported this file{hint}; "
            "pass platform= or a generic mapping"
        )  # fmt: skip
    if len(complete) > 1 and complete[0].value == complete[1].value:
        tied = " and ".join(PLATFORMS[s.platform].label for s in complete[:2])
        raise ImportFailed.at(
            header_row, None, f"the header row fits {tied} equally well; pass platform="
        )
    return complete[0].platform


def require(
    spec: PlatformSpec, headers: Sequence[str], header_row: int | None, *, period_known: bool
) -> None:
    """Check that an explicitly chosen platform fits; otherwise say what is missing."""
    missing = bind(spec, headers, header_row).missing(period_known=period_known)
    if not missing:
        return
    message = f"not a {spec.label} export: missing required columns {', '.join(missing)}"
    try:
        other = detect(headers, header_row, period_known=period_known)
    except ImportFailed:
        other = None
    if other is not None and other != spec.name:
        message += f"; it looks like a {PLATFORMS[other].label} export"
    raise ImportFailed.at(header_row, None, message)
