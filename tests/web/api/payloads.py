"""Valid request bodies, so each test changes only what it is about."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def campaign(advertiser_id: int | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Night Drive - single launch",
        "objective": "traffic",
        "pricing": "cpm",
        "bid": "3.00",
        "budget_total": "500.00",
        "budget_daily": "50.00",
        "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-31T00:00:00Z",
        "timezone": "America/New_York",
        "pacing": "even",
        "frequency_cap": {"impressions": 3, "hours": 24},
        "targeting": {
            "genres": ["electronic", "pop"],
            "countries": ["US", "CA"],
            "devices": ["mobile", "desktop"],
            "sizes": ["300x250"],
            "days": [4, 5, 6],
            "hours": [18, 19, 20, 21, 22],
        },
    }
    if advertiser_id is not None:
        body["advertiser_id"] = advertiser_id
    body.update(kw)
    return body


def creative(campaign_id: int, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "campaign_id": campaign_id,
        "name": "Cover art 300x250",
        "format": "display",
        "size": "300x250",
        "asset_kind": "image",
        "asset_url": "https://cdn.example.com/night-drive.png",
        "destination_url": "https://open.spotify.com/track/night-drive",
        "destination_kind": "streaming",
        "alt_text": "Night Drive cover: a car under neon lights",
    }
    body.update(kw)
    return body


def site(publisher_id: int | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "domain": "lyricshub.example.com",
        "name": "Lyrics Hub",
        "country": "US",
        "genres": ["pop", "hip-hop"],
    }
    if publisher_id is not None:
        body["publisher_id"] = publisher_id
    body.update(kw)
    return body


def placement(site_id: int, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": site_id,
        "name": "Sidebar",
        "format": "display",
        "sizes": ["300x250"],
        "floor_cpm": "2.50",
    }
    body.update(kw)
    return body


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buf, format="PNG")
    return buf.getvalue()
