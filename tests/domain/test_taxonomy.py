from __future__ import annotations

import pytest

from backbeat.domain.taxonomy import (
    GENRE_BY_SLUG,
    AdFormat,
    Size,
    check_countries,
    check_genres,
    check_size,
)
from backbeat.errors import ValidationFailed


def test_genres_cover_the_music_subtree_core() -> None:
    core = {"pop", "rock", "hip-hop", "electronic", "rnb", "country", "jazz", "classical"}
    assert core <= set(GENRE_BY_SLUG)
    assert {"alternative", "metal", "latin", "folk"} <= set(GENRE_BY_SLUG)
    assert GENRE_BY_SLUG["hip-hop"].iab_id == 355
    assert GENRE_BY_SLUG["electronic"].iab_id == 351


def test_check_genres_normalises_and_rejects_unknown() -> None:
    assert check_genres(["Rock", " pop "]) == frozenset({"rock", "pop"})
    with pytest.raises(ValidationFailed):
        check_genres(["rock", "vaporwave-x"])
    with pytest.raises(ValidationFailed):
        check_genres("rock")


def test_countries_are_iso_3166_alpha2() -> None:
    assert check_countries(["us", "DE"]) == frozenset({"US", "DE"})
    for bad in (["USA"], ["XX"], ["U"], "US"):
        with pytest.raises(ValidationFailed):
            check_countries(bad)


def test_size_parse_and_large_threshold() -> None:
    assert Size.parse("970x250") == Size(970, 250)
    assert Size(970, 250).is_large  # 242,500 px exactly: MRC's 30% rule applies
    assert not Size(300, 600).is_large
    with pytest.raises(ValidationFailed):
        Size.parse("big")
    with pytest.raises(ValidationFailed):
        check_size(AdFormat.DISPLAY, Size(640, 360))
