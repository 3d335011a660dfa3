from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from backbeat.domain.taxonomy import AdFormat
from backbeat.tracking.landing import click_id, fill_macros, landing_url, parse_click_id

SECRET = b"k" * 40


def test_landing_adds_utm_and_fills_macros() -> None:
    url = landing_url(
        "https://shop.example.com/merch?ref={campaign}-{site}&c=%7Bcreative%7D",
        campaign_id=7, campaign_name="Night Drive: Single!", creative_id=42, site_id=3,
        fmt=AdFormat.DISPLAY, click="abc.def",
    )
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    assert parts.netloc == "shop.example.com" and parts.path == "/merch"
    assert q["ref"] == ["7-3"] and q["c"] == ["42"]
    assert q["utm_source"] == ["backbeat"] and q["utm_medium"] == ["display"]
    assert q["utm_campaign"] == ["night-drive-single"]
    assert q["bbclid"] == ["abc.def"]


def test_existing_utm_values_are_kept() -> None:
    url = landing_url(
        "https://label.example.com/?utm_source=label&utm_campaign=fall",
        campaign_id=1, campaign_name="x", creative_id=2, site_id=3, fmt=AdFormat.VIDEO,
    )
    q = parse_qs(urlsplit(url).query)
    assert q["utm_source"] == ["label"] and q["utm_campaign"] == ["fall"]
    assert q["utm_medium"] == ["video"]


def test_macros_without_braces_are_untouched() -> None:
    assert fill_macros("https://x.example.com/campaign", campaign=1, creative=2, site=3) == (
        "https://x.example.com/campaign"
    )


def test_click_ids_are_authenticated() -> None:
    cid = click_id("0190c2a4-0000-7000-8000-000000000001", SECRET)
    assert parse_click_id(cid, SECRET) == "0190c2a4-0000-7000-8000-000000000001"
    assert parse_click_id(cid[:-1] + ("0" if cid[-1] != "0" else "1"), SECRET) is None
    assert parse_click_id(cid, b"other" * 8) is None
    assert parse_click_id("garbage", SECRET) is None
    assert parse_click_id("x" * 200, SECRET) is None


def test_a_click_id_with_text_beyond_ascii_is_not_one() -> None:
    """hmac.compare_digest refuses such text with a TypeError (a 500 from /conv before)."""
    decision = "0190c2a4-0000-7000-8000-000000000001"
    assert parse_click_id("x.é", SECRET) is None
    assert parse_click_id(f"{decision}.é", SECRET) is None
    assert parse_click_id(click_id(decision, SECRET) + "é", SECRET) is None
