"""brand_kits, commerce_batches, commerce_batch_items: the commerce driver's brand kit per
account and its batches of promo clips, one item per (SKU, aspect) (issue 18)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brand_kits",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("logo_upload_id", sa.String(length=40), nullable=True),
        sa.Column("primary_color", sa.String(length=7), nullable=False),
        sa.Column("accent_color", sa.String(length=7), nullable=False),
        sa.Column("text_color", sa.String(length=7), nullable=False),
        sa.Column("background_color", sa.String(length=7), nullable=False),
        sa.Column("font", sa.String(length=32), nullable=False),
        sa.Column("tagline", sa.String(length=200), nullable=True),
        sa.Column("cta", sa.String(length=80), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_brand_kits_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_brand_kits")),
    )
    op.create_table(
        "commerce_batches",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=False),
        sa.Column("aspects", sa.JSON(), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("catalog_name", sa.String(length=200), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_commerce_batches_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_batches")),
    )
    op.create_index(
        "ix_commerce_batches_account_id", "commerce_batches", ["account_id"], unique=False
    )
    op.create_table(
        "commerce_batch_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("aspect", sa.String(length=8), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("product", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["commerce_batches.id"],
            name=op.f("fk_commerce_batch_items_batch_id_commerce_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_batch_items")),
        sa.UniqueConstraint("batch_id", "sku", "aspect", name="uq_commerce_batch_items_key"),
    )
    op.create_index(
        "ix_commerce_batch_items_job_id", "commerce_batch_items", ["job_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_commerce_batch_items_job_id", table_name="commerce_batch_items")
    op.drop_table("commerce_batch_items")
    op.drop_index("ix_commerce_batches_account_id", table_name="commerce_batches")
    op.drop_table("commerce_batches")
    op.drop_table("brand_kits")
