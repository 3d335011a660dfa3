"""Explicit conversion between table rows and domain objects, one pair of functions per kind.

`*_row` builds the column values for INSERT/UPDATE (never `id`; `created_at` may be None and
is filled in by the repository). `*_from` rebuilds the domain object from a fetched row.
JSON holds sorted lists so that the same object always serialises to the same text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import RowMapping

from backbeat.domain.accounts import ApiToken, Role, User
from backbeat.domain.audience import Audience, AudienceRule, Engagement
from backbeat.domain.campaign import (
    Campaign,
    CampaignStatus,
    FrequencyCap,
    Objective,
    Pacing,
    Pricing,
    Targeting,
)
from backbeat.domain.creative import AssetKind, Creative, DestinationKind, ReviewStatus
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.domain.taxonomy import AdFormat, DeviceType, Size

Row = RowMapping


def email_key(email: str) -> str:
    """The case-insensitive identity of an email address (the unique key of users)."""
    return email.strip().lower()


def _sizes_out(sizes: Iterable[Size]) -> list[str]:
    return [str(s) for s in sorted(sizes)]


def _sizes_in(values: Iterable[str]) -> frozenset[Size]:
    return frozenset(Size.parse(v) for v in values)


def advertiser_row(a: Advertiser) -> dict[str, Any]:
    return {"name": a.name, "contact_email": a.contact_email, "created_at": a.created_at}


def advertiser_from(r: Row) -> Advertiser:
    return Advertiser(
        name=r["name"], contact_email=r["contact_email"], id=r["id"], created_at=r["created_at"]
    )


def publisher_row(p: Publisher) -> dict[str, Any]:
    return {
        "name": p.name,
        "contact_email": p.contact_email,
        "revenue_share_pct": p.revenue_share_pct,
        "created_at": p.created_at,
    }


def publisher_from(r: Row) -> Publisher:
    return Publisher(
        name=r["name"],
        contact_email=r["contact_email"],
        revenue_share_pct=r["revenue_share_pct"],
        id=r["id"],
        created_at=r["created_at"],
    )


def targeting_json(t: Targeting) -> dict[str, list[Any]]:
    return {
        "genres": sorted(t.genres),
        "countries": sorted(t.countries),
        "devices": sorted(d.value for d in t.devices),
        "sites_include": sorted(t.sites_include),
        "sites_exclude": sorted(t.sites_exclude),
        "formats": sorted(f.value for f in t.formats),
        "sizes": _sizes_out(t.sizes),
        "days": sorted(t.days),
        "hours": sorted(t.hours),
        "audiences": sorted(t.audiences),
    }


def targeting_from(data: Mapping[str, Any]) -> Targeting:
    """Missing keys mean "any", so rows written before a new targeting field still load."""

    def get(key: str) -> list[Any]:
        return list(data.get(key) or [])

    return Targeting(
        genres=frozenset(get("genres")),
        countries=frozenset(get("countries")),
        devices=frozenset(DeviceType(d) for d in get("devices")),
        sites_include=frozenset(int(s) for s in get("sites_include")),
        sites_exclude=frozenset(int(s) for s in get("sites_exclude")),
        formats=frozenset(AdFormat(f) for f in get("formats")),
        sizes=_sizes_in(get("sizes")),
        days=frozenset(int(d) for d in get("days")),
        hours=frozenset(int(h) for h in get("hours")),
        audiences=frozenset(int(a) for a in get("audiences")),
    )


def campaign_row(c: Campaign) -> dict[str, Any]:
    cap = c.frequency_cap
    return {
        "advertiser_id": c.advertiser_id,
        "name": c.name,
        "objective": c.objective.value,
        "pricing": c.pricing.value,
        "bid_micros": c.bid_micros,
        "budget_total_micros": c.budget_total_micros,
        "budget_daily_micros": c.budget_daily_micros,
        "start": c.start,
        "end": c.end,
        "timezone": c.timezone,
        "pacing": c.pacing.value,
        "frequency_cap_impressions": cap.impressions if cap else None,
        "frequency_cap_hours": cap.hours if cap else None,
        "targeting": targeting_json(c.targeting),
        "status": c.status.value,
        "created_at": c.created_at,
    }


def campaign_from(r: Row) -> Campaign:
    cap_imps, cap_hours = r["frequency_cap_impressions"], r["frequency_cap_hours"]
    cap = FrequencyCap(cap_imps, cap_hours) if cap_imps is not None else None
    return Campaign(
        advertiser_id=r["advertiser_id"],
        name=r["name"],
        objective=Objective(r["objective"]),
        pricing=Pricing(r["pricing"]),
        bid_micros=r["bid_micros"],
        budget_total_micros=r["budget_total_micros"],
        budget_daily_micros=r["budget_daily_micros"],
        start=r["start"],
        end=r["end"],
        timezone=r["timezone"],
        pacing=Pacing(r["pacing"]),
        frequency_cap=cap,
        targeting=targeting_from(r["targeting"]),
        status=CampaignStatus(r["status"]),
        id=r["id"],
        created_at=r["created_at"],
    )


def creative_row(c: Creative) -> dict[str, Any]:
    return {
        "advertiser_id": c.advertiser_id,
        "campaign_id": c.campaign_id,
        "name": c.name,
        "format": c.format.value,
        "size": str(c.size),
        "asset_kind": c.asset_kind.value,
        "asset_url": c.asset_url,
        "destination_url": c.destination_url,
        "destination_kind": c.destination_kind.value,
        "alt_text": c.alt_text,
        "review_status": c.review_status.value,
        "rejection_reason": c.rejection_reason,
        "created_at": c.created_at,
    }


def creative_from(r: Row) -> Creative:
    return Creative(
        advertiser_id=r["advertiser_id"],
        campaign_id=r["campaign_id"],
        name=r["name"],
        format=AdFormat(r["format"]),
        size=Size.parse(r["size"]),
        asset_kind=AssetKind(r["asset_kind"]),
        asset_url=r["asset_url"],
        destination_url=r["destination_url"],
        destination_kind=DestinationKind(r["destination_kind"]),
        alt_text=r["alt_text"],
        review_status=ReviewStatus(r["review_status"]),
        rejection_reason=r["rejection_reason"],
        id=r["id"],
        created_at=r["created_at"],
    )


def site_row(s: Site) -> dict[str, Any]:
    return {
        "publisher_id": s.publisher_id,
        "domain": s.domain,
        "name": s.name,
        "country": s.country,
        "genres": sorted(s.genres),
        "created_at": s.created_at,
    }


def site_from(r: Row) -> Site:
    return Site(
        publisher_id=r["publisher_id"],
        domain=r["domain"],
        name=r["name"],
        country=r["country"],
        genres=frozenset(r["genres"]),
        id=r["id"],
        created_at=r["created_at"],
    )


def placement_row(p: Placement) -> dict[str, Any]:
    return {
        "site_id": p.site_id,
        "name": p.name,
        "format": p.format.value,
        "sizes": _sizes_out(p.sizes),
        "floor_cpm_micros": p.floor_cpm_micros,
        "active": p.active,
        "created_at": p.created_at,
    }


def placement_from(r: Row) -> Placement:
    return Placement(
        site_id=r["site_id"],
        name=r["name"],
        format=AdFormat(r["format"]),
        sizes=_sizes_in(r["sizes"]),
        floor_cpm_micros=r["floor_cpm_micros"],
        active=bool(r["active"]),
        id=r["id"],
        created_at=r["created_at"],
    )


def audience_row(a: Audience) -> dict[str, Any]:
    rule = {
        "engagement": a.rule.engagement.value,
        "campaign_id": a.rule.campaign_id,
        "days": a.rule.days,
        "min_count": a.rule.min_count,
    }
    return {
        "advertiser_id": a.advertiser_id,
        "name": a.name,
        "rule": rule,
        "created_at": a.created_at,
    }


def audience_from(r: Row) -> Audience:
    rule = r["rule"]
    return Audience(
        advertiser_id=r["advertiser_id"],
        name=r["name"],
        rule=AudienceRule(
            engagement=Engagement(rule["engagement"]),
            campaign_id=int(rule["campaign_id"]),
            days=int(rule["days"]),
            min_count=int(rule.get("min_count", 1)),
        ),
        id=r["id"],
        created_at=r["created_at"],
    )


def user_row(u: User) -> dict[str, Any]:
    return {
        "email": u.email,
        "email_key": email_key(u.email),
        "role": u.role.value,
        "password_hash": u.password_hash,
        "advertiser_id": u.advertiser_id,
        "publisher_id": u.publisher_id,
        "active": u.active,
        "created_at": u.created_at,
    }


def user_from(r: Row) -> User:
    return User(
        email=r["email"],
        role=Role(r["role"]),
        password_hash=r["password_hash"],
        advertiser_id=r["advertiser_id"],
        publisher_id=r["publisher_id"],
        active=bool(r["active"]),
        id=r["id"],
        created_at=r["created_at"],
    )


def token_row(t: ApiToken) -> dict[str, Any]:
    return {
        "user_id": t.user_id,
        "name": t.name,
        "prefix": t.prefix,
        "token_hash": t.token_hash,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "revoked_at": t.revoked_at,
        "last_used_at": t.last_used_at,
    }


def token_from(r: Row) -> ApiToken:
    return ApiToken(
        user_id=r["user_id"],
        name=r["name"],
        prefix=r["prefix"],
        token_hash=r["token_hash"],
        created_at=r["created_at"],
        expires_at=r["expires_at"],
        revoked_at=r["revoked_at"],
        last_used_at=r["last_used_at"],
        id=r["id"],
    )
