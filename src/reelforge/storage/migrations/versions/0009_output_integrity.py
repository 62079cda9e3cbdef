"""jobs.output_damage: what `reelforge fsck --repair` found wrong with a job's stored output
(missing, size_mismatch, hash_mismatch), so it answers a clear code and leaves the result cache

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("output_damage", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("output_damage")
