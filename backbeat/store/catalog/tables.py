"""The catalog schema as SQLAlchemy Core tables, deliberately apart from the domain dataclasses.

Money is BigInteger micros. Datetimes go through :class:`UtcDateTime`, so they are stored in
UTC and always come back timezone-aware, on SQLite as on PostgreSQL. Sets (targeting, sizes,
genres) and the audience rule are JSON holding sorted lists; anything filtered on is a column.
Constraint names follow a fixed convention so errors can be traced back to a field and the
Alembic migration can name the same constraints. ``migrations/versions`` must match this file
(a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC. Naive datetimes are refused: their meaning is
    a guess. SQLite keeps naive UTC text (which sorts correctly); PostgreSQL a timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; attach a UTC offset")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _created_at() -> Column[datetime]:
    return Column("created_at", UtcDateTime(), nullable=False)


def _name() -> Column[str]:
    return Column("name", String(200), nullable=False)


def _fk(name: str, target: str, *, nullable: bool = False, cascade: bool = False) -> Column[Any]:
    return Column(
        name,
        Integer,
        ForeignKey(target, ondelete="CASCADE" if cascade else None),
        nullable=nullable,
        index=True,
    )


advertisers = Table(
    "advertisers",
    metadata,
    _id(),
    _name(),
    Column("contact_email", String(254), nullable=True),
    _created_at(),
)

publishers = Table(
    "publishers",
    metadata,
    _id(),
    _name(),
    Column("contact_email", String(254), nullable=True),
    Column("revenue_share_pct", Integer, nullable=False),
    _created_at(),
)

campaigns = Table(
    "campaigns",
    metadata,
    _id(),
    _fk("advertiser_id", "advertisers.id"),
    _name(),
    Column("objective", String(16), nullable=False),
    Column("pricing", String(8), nullable=False),
    Column("bid_micros", BigInteger, nullable=False),
    Column("budget_total_micros", BigInteger, nullable=False),
    Column("budget_daily_micros", BigInteger, nullable=True),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("pacing", String(8), nullable=False),
    Column("frequency_cap_impressions", Integer, nullable=True),
    Column("frequency_cap_hours", Integer, nullable=True),
    Column("targeting", JSON, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    _created_at(),
    # The target of creatives' (campaign_id, advertiser_id) key: a creative's denormalised
    # tenant can never disagree with its campaign's.
    UniqueConstraint("id", "advertiser_id"),
)

creatives = Table(
    "creatives",
    metadata,
    _id(),
    _fk("advertiser_id", "advertisers.id"),
    Column("campaign_id", Integer, nullable=False),  # indexed with review_status below
    _name(),
    Column("format", String(16), nullable=False),
    Column("size", String(16), nullable=False),
    Column("asset_kind", String(16), nullable=False),
    Column("asset_url", String(2048), nullable=False),
    Column("destination_url", String(2048), nullable=False),
    Column("destination_kind", String(16), nullable=False),
    Column("alt_text", String(300), nullable=False),
    Column("review_status", String(16), nullable=False, index=True),
    Column("rejection_reason", String(500), nullable=True),
    _created_at(),
    ForeignKeyConstraint(
        ["campaign_id", "advertiser_id"], ["campaigns.id", "campaigns.advertiser_id"]
    ),
)

sites = Table(
    "sites",
    metadata,
    _id(),
    _fk("publisher_id", "publishers.id"),
    Column("domain", String(253), nullable=False),
    _name(),
    Column("country", String(2), nullable=False, index=True),
    Column("genres", JSON, nullable=False),
    _created_at(),
    UniqueConstraint("domain"),
)

placements = Table(
    "placements",
    metadata,
    _id(),
    _fk("site_id", "sites.id"),
    _name(),
    Column("format", String(16), nullable=False),
    Column("sizes", JSON, nullable=False),
    Column("floor_cpm_micros", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False, index=True),
    _created_at(),
)

audiences = Table(
    "audiences",
    metadata,
    _id(),
    _fk("advertiser_id", "advertisers.id"),
    _name(),
    Column("rule", JSON, nullable=False),
    _created_at(),
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("email", String(254), nullable=False),
    # Lower-cased email: the unique key, so Ann@x.org and ann@x.org are one account.
    Column("email_key", String(254), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    _fk("advertiser_id", "advertisers.id", nullable=True),
    _fk("publisher_id", "publishers.id", nullable=True),
    Column("active", Boolean, nullable=False),
    _created_at(),
    UniqueConstraint("email_key"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    _fk("user_id", "users.id", cascade=True),  # a deleted user's tokens die with them
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("token_hash", String(128), nullable=False),
    _created_at(),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),
    UniqueConstraint("token_hash"),
)

catalog_version = Table(
    "catalog_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: one row
    Column("version", BigInteger, nullable=False),
)

Index("ix_creatives_campaign_status", creatives.c.campaign_id, creatives.c.review_status)

VERSION_ROW_ID = 1

# Singular names used in error messages ("no advertiser 7", "advertiser has campaigns").
KIND: dict[str, str] = {
    "advertisers": "advertiser",
    "publishers": "publisher",
    "campaigns": "campaign",
    "creatives": "creative",
    "sites": "site",
    "placements": "placement",
    "audiences": "audience",
    "users": "user",
    "api_tokens": "token",
}
