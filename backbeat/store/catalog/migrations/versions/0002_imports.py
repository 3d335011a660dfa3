"""Imported platform reports: ``imports`` and ``import_rows``.

Written to match backbeat/store/catalog/imports.py as of this revision (the autogenerate
comparison test checks it). Decimals are text so they round-trip exactly on SQLite too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

COUNT_COLUMNS = (
    "clicks", "clicks_all", "reach", "viewable_impressions", "views", "views_2s", "views_6s",
    "q25", "q50", "q75", "q100", "starts", "completes",
)  # fmt: skip
DECIMAL_COLUMNS = (
    "frequency", "conversions", "results", "q25_rate", "q50_rate", "q75_rate", "q100_rate",
    "reported_ctr", "reported_ctr_all", "reported_cpm", "reported_cpc", "reported_cpv",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("advertiser_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("rows_replaced", sa.Integer(), nullable=False),
        sa.Column("currencies", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id"], ["advertisers.id"], name="fk_imports_advertiser_id_advertisers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
        sa.UniqueConstraint(
            "advertiser_id", "checksum", name="uq_imports_advertiser_id_checksum"
        ),
        sa.UniqueConstraint("id", "advertiser_id", name="uq_imports_id_advertiser_id"),
    )
    op.create_index("ix_imports_advertiser_id", "imports", ["advertiser_id"])

    op.create_table(
        "import_rows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("advertiser_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("campaign", sa.Text(), nullable=False),
        sa.Column("ad_group", sa.Text(), nullable=True),
        sa.Column("ad", sa.Text(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in COUNT_COLUMNS),
        *(sa.Column(name, sa.Text(), nullable=True) for name in DECIMAL_COLUMNS),
        sa.Column("result_indicator", sa.Text(), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id", "advertiser_id"],
            ["imports.id", "imports.advertiser_id"],
            name="fk_import_rows_import_id_advertiser_id_imports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_rows"),
    )
    op.create_index("ix_import_rows_import_id", "import_rows", ["import_id"])
    op.create_index(
        "ix_import_rows_scope",
        "import_rows",
        ["advertiser_id", "platform", "account", "period_start"],
    )


def downgrade() -> None:
    op.drop_table("import_rows")
    op.drop_table("imports")
