"""Creatives: the ad itself (image, HTML5 or video), where it sends people, and its review."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from backbeat.domain.rules import Problems, check_name
from backbeat.domain.taxonomy import AdFormat, Size, check_size
from backbeat.errors import Conflict, ValidationFailed

MAX_URL_LEN = 2048
# Image types we accept for upload, by the magic the bytes must carry.
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class AssetKind(StrEnum):
    IMAGE = "image"
    HTML5 = "html5"
    VIDEO = "video"


class DestinationKind(StrEnum):
    STREAMING = "streaming"
    STORE = "store"
    TICKETS = "tickets"
    SOCIAL = "social"
    WEBSITE = "website"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def check_http_url(url: str, field: str) -> str:
    """Accept absolute http(s) URLs only: no javascript:, data:, or relative links."""
    text = url.strip()
    if len(text) > MAX_URL_LEN:
        raise ValidationFailed.one(field, f"at most {MAX_URL_LEN} characters")
    if any(ord(ch) < 33 for ch in text):
        raise ValidationFailed.one(field, "must not contain spaces or control characters")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationFailed.one(field, "must be an http:// or https:// URL")
    if not parts.hostname or ("." not in parts.hostname and parts.hostname != "localhost"):
        raise ValidationFailed.one(field, "must name a host")
    return text


@dataclass(frozen=True)
class Creative:
    advertiser_id: int
    campaign_id: int
    name: str
    format: AdFormat
    size: Size
    asset_kind: AssetKind
    asset_url: str
    destination_url: str
    destination_kind: DestinationKind
    alt_text: str = ""
    review_status: ReviewStatus = ReviewStatus.PENDING
    rejection_reason: str | None = None
    id: int | None = None
    created_at: datetime | None = None

    def validate(self) -> Creative:
        p = Problems()
        for fn in (
            lambda: check_name(self.name),
            lambda: check_size(self.format, self.size),
            lambda: check_http_url(self.destination_url, "destination_url"),
        ):
            try:
                fn()
            except ValidationFailed as exc:
                p.capture(exc)
        if self.asset_kind is AssetKind.VIDEO:
            p.check(self.format is AdFormat.VIDEO, "asset_kind", "video assets need format=video")
        if self.format is AdFormat.VIDEO:
            p.check(self.asset_kind is AssetKind.VIDEO, "asset_kind", "video needs a video asset")
        if self.asset_kind is AssetKind.IMAGE:
            p.check(
                bool(self.alt_text.strip()),
                "alt_text",
                "image ads need alt text for screen readers",
            )
        p.check(len(self.alt_text) <= 300, "alt_text", "at most 300 characters")
        if self.asset_kind is not AssetKind.IMAGE or self.asset_url.startswith(("http", "https")):
            try:
                check_http_url(self.asset_url, "asset_url")
            except ValidationFailed as exc:
                p.capture(exc)
        p.raise_if_any()
        return self

    def approve(self) -> Creative:
        if self.review_status is ReviewStatus.APPROVED:
            raise Conflict("creative is already approved")
        return replace(self, review_status=ReviewStatus.APPROVED, rejection_reason=None)

    def reject(self, reason: str) -> Creative:
        text = reason.strip()
        if not text:
            raise ValidationFailed.one("reason", "give a reason the advertiser can act on")
        if len(text) > 500:
            raise ValidationFailed.one("reason", "at most 500 characters")
        return replace(self, review_status=ReviewStatus.REJECTED, rejection_reason=text)

    def edited(self) -> Creative:
        """Any change to what is shown or where it links sends the creative back to review."""
        return replace(self, review_status=ReviewStatus.PENDING, rejection_reason=None)
