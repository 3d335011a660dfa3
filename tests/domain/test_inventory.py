from __future__ import annotations

import pytest

from backbeat.domain.inventory import Placement, Site, domain_matches, normalise_domain
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.errors import ValidationFailed


def test_normalise_domain() -> None:
    assert normalise_domain("WWW.LyricsHub.com.") == "lyricshub.com"
    for bad in ("not a domain", "http://x.com", "x", "-a.com"):
        with pytest.raises(ValidationFailed):
            normalise_domain(bad)


def test_domain_matches_subdomains_only() -> None:
    assert domain_matches("lyricshub.com", "lyricshub.com")
    assert domain_matches("m.lyricshub.com", "lyricshub.com")
    assert not domain_matches("evil-lyricshub.com", "lyricshub.com")
    assert not domain_matches("lyricshub.com.evil.io", "lyricshub.com")


def test_site_rules() -> None:
    Site(1, "riffs.example.com", "Riffs", "US", frozenset({"rock"})).validate()
    with pytest.raises(ValidationFailed) as exc:
        Site(1, "riffs.example.com", "Riffs", "XX", frozenset({"polka-core"})).validate()
    assert {f.field for f in exc.value.fields} == {"country", "genres"}
    with pytest.raises(ValidationFailed) as exc:
        Site(1, "riffs.example.com", "Riffs", "US", frozenset()).validate()
    assert exc.value.fields[0].field == "genres"


def test_placement_floor_not_below_network_floor() -> None:
    p = Placement(1, "Sidebar", AdFormat.DISPLAY, frozenset({Size(300, 250)}), 2_000_000)
    with pytest.raises(ValidationFailed) as exc:
        p.validate(2_500_000)
    assert exc.value.fields[0].field == "floor_cpm"
    Placement(1, "Sidebar", AdFormat.DISPLAY, frozenset({Size(300, 250)}), 2_500_000).validate(
        2_500_000
    )


def test_placement_sizes_must_fit_format() -> None:
    p = Placement(1, "Player", AdFormat.VIDEO, frozenset({Size(728, 90)}), 5_000_000)
    with pytest.raises(ValidationFailed) as exc:
        p.validate(2_500_000)
    assert exc.value.fields[0].field == "sizes"
