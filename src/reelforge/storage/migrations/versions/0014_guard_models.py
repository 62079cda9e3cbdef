"""guard_models: guard-model stages an operator registered (issue 17): a name for a local
directory of a Llama Guard, Qwen3Guard-Gen or ShieldGemma checkpoint, the device and dtype it
runs with.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guard_models",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("family", sa.String(length=20), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("device", sa.String(length=40), nullable=False),
        sa.Column("dtype", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_guard_models")),
    )


def downgrade() -> None:
    op.drop_table("guard_models")
