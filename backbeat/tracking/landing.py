"""Where a click lands: the creative's destination from the catalog, with UTM parameters,
the `{campaign}`, `{creative}` and `{site}` macros filled, and a click id (`bbclid`).

The destination always comes from the catalog, never from the request, so the click route
cannot be used as an open redirect. Parameters the advertiser already set are kept: UTM
values are only added when absent, so a label's own tagging wins.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from backbeat.domain.taxonomy import AdFormat

CLICK_ID_PARAM = "bbclid"
_MEDIUM = {AdFormat.DISPLAY: "display", AdFormat.VIDEO: "video", AdFormat.NATIVE: "native"}


def _slug(text: str) -> str:
    cleaned = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in cleaned.split("-") if part)[:80] or "campaign"


def fill_macros(url: str, *, campaign: int, creative: int, site: int) -> str:
    """Replace `{campaign}`, `{creative}` and `{site}` (also URL-encoded braces) with ids."""
    values = {"campaign": str(campaign), "creative": str(creative), "site": str(site)}
    for name, value in values.items():
        for token in ("{" + name + "}", quote("{" + name + "}"), quote("{" + name + "}").lower()):
            url = url.replace(token, value)
    return url


def click_id(decision_id: str, secret: bytes) -> str:
    """`<decision id>.<mac>`: lets the conversion endpoint trust which click it names."""
    mac = hmac.new(secret, b"bbclid:" + decision_id.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{decision_id}.{mac}"


def parse_click_id(value: str, secret: bytes) -> str | None:
    """The decision id of an authentic click id, else None."""
    decision_id, _, mac = value.strip().partition(".")
    if not decision_id or len(value) > 80 or not value.isascii():
        return None  # compare_digest takes only ASCII text; no real click id is other
    good = click_id(decision_id, secret).partition(".")[2]
    return decision_id if hmac.compare_digest(mac, good) else None


def landing_url(
    destination: str,
    *,
    campaign_id: int,
    campaign_name: str,
    creative_id: int,
    site_id: int,
    fmt: AdFormat,
    click: str | None = None,
) -> str:
    """The URL a click is redirected to."""
    url = fill_macros(destination, campaign=campaign_id, creative=creative_id, site=site_id)
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    extra = [
        ("utm_source", "backbeat"),
        ("utm_medium", _MEDIUM[fmt]),
        ("utm_campaign", _slug(campaign_name)),
        ("utm_content", f"creative-{creative_id}"),
    ]
    query += [(k, v) for k, v in extra if k not in present]
    if click is not None:
        query.append((CLICK_ID_PARAM, click))
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
