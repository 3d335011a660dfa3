from __future__ import annotations

from pathlib import Path

import pytest

from backbeat.errors import ValidationFailed
from backbeat.importers import registry
from backbeat.importers.errors import ImportFailed
from backbeat.importers.reader import open_export


def header_of(path: Path) -> list[str]:
    with open_export(path, registry.known_header) as export:
        return export.header


@pytest.mark.parametrize(
    ("name", "platform"),
    [
        ("meta_en.csv", "meta"),
        ("meta_fr.csv", "meta"),
        ("meta_de.csv", "meta"),
        ("meta_es.csv", "meta"),
        ("google_ads.csv", "google_ads"),
        ("tiktok.csv", "tiktok"),
        ("spotify.csv", "spotify"),
    ],
)
def test_detect(fixtures: Path, name: str, platform: str) -> None:
    assert registry.detect(header_of(fixtures / name)) == platform


def test_detect_with_period_from_the_preamble(fixtures: Path) -> None:
    header = header_of(fixtures / "youtube.csv")  # no Day column
    with pytest.raises(ImportFailed, match="closest is Google Ads"):
        registry.detect(header)
    assert registry.detect(header, period_known=True) == "google_ads"


def test_distinct_columns_outweigh_shared_ones() -> None:
    shared = ["Campaign name", "Impressions", "Reach", "Frequency", "Date", "Currency"]
    assert registry.detect([*shared, "Cost", "Clicks (destination)"]) == "tiktok"
    assert registry.detect([*shared, "Spend", "Starts", "Completes"]) == "spotify"
    assert registry.detect([*shared, "Amount spent (USD)", "Link clicks"]) == "meta"


def test_undetectable_header_names_the_closest_platform() -> None:
    with pytest.raises(ImportFailed) as info:
        registry.detect(["Campaign name", "Impressions", "Link clicks", "Day"], header_row=3)
    problem = info.value.problems[0]
    assert problem.row == 3
    assert "closest is Meta Ads Manager, missing: Amount spent" in problem.message


def test_a_tie_asks_for_the_platform() -> None:
    with pytest.raises(ImportFailed, match="equally well"):
        registry.detect(["Campaign name", "Impressions", "Date", "Spend", "Total cost"])


def test_wrong_explicit_platform_lists_missing_columns(fixtures: Path) -> None:
    header = header_of(fixtures / "meta_en.csv")
    with pytest.raises(ImportFailed) as info:
        registry.require(registry.get("google_ads"), header, 1, period_known=False)
    message = info.value.problems[0].message
    assert message.startswith("not a Google Ads export: missing required columns Campaign, Cost")
    assert "it looks like a Meta Ads Manager export" in message


def test_get_and_aliases() -> None:
    assert registry.get("YouTube").name == "google_ads"
    assert registry.get("facebook").name == "meta"
    assert registry.names() == ["google_ads", "meta", "spotify", "tiktok"]
    with pytest.raises(ValidationFailed) as info:
        registry.get("myspace")
    assert info.value.fields[0].field == "platform"
    assert "generic" in info.value.fields[0].reason
