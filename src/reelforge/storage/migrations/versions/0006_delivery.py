"""delivery: deleted and expiring outputs on jobs (deleted_at, expires_at, purged_at),
deleted uploads, and the per-account content-hash index that deduplicates uploads

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("jobs", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("jobs", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_expires_at", "jobs", ["expires_at"], unique=False)
    op.add_column("uploads", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_uploads_account_id_blob_key", "uploads", ["account_id", "blob_key"], unique=False
    )


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_uploads_account_id_blob_key")
        batch_op.drop_column("deleted_at")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_expires_at")
        batch_op.drop_column("purged_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("deleted_at")
