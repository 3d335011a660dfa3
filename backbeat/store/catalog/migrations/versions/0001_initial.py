"""The initial catalog schema: tenants, campaigns, creatives, inventory, audiences, accounts.

Written to match backbeat/store/catalog/tables.py as of this revision (a test checks that
autogenerate finds no difference). Later changes go in new revisions, never here.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _name() -> sa.Column[str]:
    return sa.Column("name", sa.String(length=200), nullable=False)


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _ref(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "advertisers",
        _id(),
        _name(),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_advertisers"),
    )
    op.create_table(
        "publishers",
        _id(),
        _name(),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("revenue_share_pct", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_publishers"),
    )
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_version"),
    )
    op.create_table(
        "campaigns",
        _id(),
        _ref("advertiser_id"),
        _name(),
        sa.Column("objective", sa.String(length=16), nullable=False),
        sa.Column("pricing", sa.String(length=8), nullable=False),
        sa.Column("bid_micros", sa.BigInteger(), nullable=False),
        sa.Column("budget_total_micros", sa.BigInteger(), nullable=False),
        sa.Column("budget_daily_micros", sa.BigInteger(), nullable=True),
        _ts("start"),
        _ts("end"),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("pacing", sa.String(length=8), nullable=False),
        sa.Column("frequency_cap_impressions", sa.Integer(), nullable=True),
        sa.Column("frequency_cap_hours", sa.Integer(), nullable=True),
        sa.Column("targeting", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("created_at"),
        _fk("campaigns", "advertiser_id", "advertisers"),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.UniqueConstraint("id", "advertiser_id", name="uq_campaigns_id_advertiser_id"),
    )
    op.create_index("ix_campaigns_advertiser_id", "campaigns", ["advertiser_id"])
    op.create_index("ix_campaigns_status", "campaigns", ["status"])

    op.create_table(
        "creatives",
        _id(),
        _ref("advertiser_id"),
        _ref("campaign_id"),
        _name(),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("asset_kind", sa.String(length=16), nullable=False),
        sa.Column("asset_url", sa.String(length=2048), nullable=False),
        sa.Column("destination_url", sa.String(length=2048), nullable=False),
        sa.Column("destination_kind", sa.String(length=16), nullable=False),
        sa.Column("alt_text", sa.String(length=300), nullable=False),
        sa.Column("review_status", sa.String(length=16), nullable=False),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        _ts("created_at"),
        _fk("creatives", "advertiser_id", "advertisers"),
        sa.ForeignKeyConstraint(
            ["campaign_id", "advertiser_id"],
            ["campaigns.id", "campaigns.advertiser_id"],
            name="fk_creatives_campaign_id_advertiser_id_campaigns",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_creatives"),
    )
    op.create_index("ix_creatives_advertiser_id", "creatives", ["advertiser_id"])
    op.create_index("ix_creatives_review_status", "creatives", ["review_status"])
    op.create_index(
        "ix_creatives_campaign_status", "creatives", ["campaign_id", "review_status"]
    )

    op.create_table(
        "sites",
        _id(),
        _ref("publisher_id"),
        sa.Column("domain", sa.String(length=253), nullable=False),
        _name(),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("genres", sa.JSON(), nullable=False),
        _ts("created_at"),
        _fk("sites", "publisher_id", "publishers"),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
        sa.UniqueConstraint("domain", name="uq_sites_domain"),
    )
    op.create_index("ix_sites_publisher_id", "sites", ["publisher_id"])
    op.create_index("ix_sites_country", "sites", ["country"])

    op.create_table(
        "placements",
        _id(),
        _ref("site_id"),
        _name(),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("sizes", sa.JSON(), nullable=False),
        sa.Column("floor_cpm_micros", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _fk("placements", "site_id", "sites"),
        sa.PrimaryKeyConstraint("id", name="pk_placements"),
    )
    op.create_index("ix_placements_site_id", "placements", ["site_id"])
    op.create_index("ix_placements_active", "placements", ["active"])

    op.create_table(
        "audiences",
        _id(),
        _ref("advertiser_id"),
        _name(),
        sa.Column("rule", sa.JSON(), nullable=False),
        _ts("created_at"),
        _fk("audiences", "advertiser_id", "advertisers"),
        sa.PrimaryKeyConstraint("id", name="pk_audiences"),
    )
    op.create_index("ix_audiences_advertiser_id", "audiences", ["advertiser_id"])

    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        _ref("advertiser_id", nullable=True),
        _ref("publisher_id", nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _fk("users", "advertiser_id", "advertisers"),
        _fk("users", "publisher_id", "publishers"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email_key", name="uq_users_email_key"),
    )
    op.create_index("ix_users_advertiser_id", "users", ["advertiser_id"])
    op.create_index("ix_users_publisher_id", "users", ["publisher_id"])

    op.create_table(
        "api_tokens",
        _id(),
        _ref("user_id"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        _ts("created_at"),
        _ts("expires_at", nullable=True),
        _ts("revoked_at", nullable=True),
        _ts("last_used_at", nullable=True),
        _fk("api_tokens", "user_id", "users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])

    version = sa.table("catalog_version", sa.column("id"), sa.column("version"))
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    for table in (
        "api_tokens",
        "users",
        "audiences",
        "placements",
        "sites",
        "creatives",
        "campaigns",
        "catalog_version",
        "publishers",
        "advertisers",
    ):
        op.drop_table(table)
