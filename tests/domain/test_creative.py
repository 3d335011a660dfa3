from __future__ import annotations

from dataclasses import replace

import pytest

from backbeat.domain.creative import (
    AssetKind,
    Creative,
    DestinationKind,
    ReviewStatus,
    check_http_url,
)
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.errors import Conflict, ValidationFailed


def make(**kw: object) -> Creative:
    base = Creative(
        advertiser_id=1,
        campaign_id=1,
        name="Cover art",
        format=AdFormat.DISPLAY,
        size=Size(300, 250),
        asset_kind=AssetKind.IMAGE,
        asset_url="https://cdn.example.com/a.png",
        destination_url="https://open.spotify.com/track/abc",
        destination_kind=DestinationKind.STREAMING,
        alt_text="Album cover of Night Drive",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.com/x",
        "//example.com/x",
        "/relative",
        "https://",
        "https://exa mple.com",
    ],
)
def test_non_http_destinations_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(destination_url=url).validate()
    assert exc.value.fields[0].field == "destination_url"


def test_http_urls_pass() -> None:
    assert check_http_url("https://shop.example.com/merch?x=1", "u").startswith("https://")


def test_unsupported_size_is_refused() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(size=Size(301, 250)).validate()
    assert exc.value.fields[0].field == "size"


def test_every_iab_fixed_size_is_supported_for_display() -> None:
    for w, h in [
        (300, 250),
        (728, 90),
        (160, 600),
        (300, 600),
        (320, 50),
        (300, 50),
        (970, 250),
        (970, 90),
        (300, 1050),
    ]:
        make(size=Size(w, h)).validate()


def test_image_needs_alt_text() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(alt_text="  ").validate()
    assert exc.value.fields[0].field == "alt_text"


def test_video_format_needs_video_asset() -> None:
    with pytest.raises(ValidationFailed):
        make(format=AdFormat.VIDEO, size=Size(640, 360)).validate()
    make(
        format=AdFormat.VIDEO,
        size=Size(640, 360),
        asset_kind=AssetKind.VIDEO,
        asset_url="https://cdn.example.com/v.mp4",
    ).validate()


def test_review_cycle() -> None:
    c = make()
    assert c.review_status is ReviewStatus.PENDING
    approved = c.approve()
    assert approved.review_status is ReviewStatus.APPROVED
    with pytest.raises(Conflict):
        approved.approve()
    rejected = c.reject("Logo is blurry")
    assert rejected.review_status is ReviewStatus.REJECTED
    assert rejected.rejection_reason == "Logo is blurry"
    assert rejected.edited().review_status is ReviewStatus.PENDING


def test_rejection_needs_a_reason() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make().reject("   ")
    assert exc.value.fields[0].field == "reason"
