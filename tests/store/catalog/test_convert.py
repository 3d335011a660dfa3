"""Row <-> domain conversion: stable, sorted JSON and exact round trips."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import select

from backbeat.domain.campaign import Targeting
from backbeat.domain.taxonomy import Size
from backbeat.store.catalog import SqlCatalog
from backbeat.store.catalog.convert import (
    email_key,
    placement_row,
    targeting_from,
    targeting_json,
)
from backbeat.store.catalog.tables import campaigns
from tests.store.catalog import builders as b
from tests.store.catalog.builders import FULL_TARGETING, build_world


def test_targeting_json_is_sorted() -> None:
    data = targeting_json(FULL_TARGETING)
    assert data == {
        "genres": ["jazz", "pop", "rock"],
        "countries": ["BR", "DE", "US"],
        "devices": ["desktop", "mobile"],
        "sites_include": [4, 12, 30],
        "sites_exclude": [7, 99],
        "formats": ["display", "video"],
        "sizes": ["160x600", "300x250", "728x90"],
        "days": [0, 5, 6],
        "hours": [0, 12, 23],
        "audiences": [1, 3],
    }
    assert targeting_from(data) == FULL_TARGETING


def test_same_targeting_serialises_identically() -> None:
    shuffled = replace(
        FULL_TARGETING,
        sizes=frozenset([Size(728, 90), Size(160, 600), Size(300, 250)]),
        genres=frozenset(["rock", "jazz", "pop"]),
    )
    assert json.dumps(targeting_json(shuffled)) == json.dumps(targeting_json(FULL_TARGETING))


def test_targeting_missing_keys_mean_any() -> None:
    assert targeting_from({}) == Targeting()
    assert targeting_from({"genres": ["rock"]}) == Targeting(genres=frozenset({"rock"}))


def test_placement_sizes_sorted_by_dimensions() -> None:
    row = placement_row(b.placement(1))
    assert row["sizes"] == ["160x600", "300x250", "300x600"]


def test_email_key_is_trimmed_lower_case() -> None:
    assert email_key("  Ann.Lee@Nightjar.EXAMPLE ") == "ann.lee@nightjar.example"


def test_stored_targeting_is_sorted_json(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    with catalog.engine.connect() as conn:
        raw = conn.execute(
            select(campaigns.c.targeting).where(campaigns.c.id == w.campaign_id)
        ).scalar_one()
    assert raw == targeting_json(FULL_TARGETING)
