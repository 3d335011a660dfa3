"""Reference data the forms need: genres, formats and sizes, countries."""

from __future__ import annotations

from fastapi import APIRouter

from backbeat.domain.taxonomy import GENRES, SIZES_BY_FORMAT

router = APIRouter(tags=["reference"])


@router.get("/genres")
def genres() -> list[dict[str, object]]:
    """Music genres (IAB Content Taxonomy 3.1 Music subtree)."""
    return [{"slug": g.slug, "label": g.label, "iab_id": g.iab_id} for g in GENRES]


@router.get("/sizes")
def sizes() -> dict[str, list[str]]:
    """Supported creative sizes per format."""
    return {fmt.value: [str(s) for s in sorted(v)] for fmt, v in SIZES_BY_FORMAT.items()}
