"""provider_models, provider_tasks: hosted-model backends (Kling, Runway, Luma, ...). A
provider model is a registered name for one remote model id; a provider task is the per-job
checkpoint of the remote task (its id is stored before waiting, so a worker killed mid-wait
resumes the same paid task instead of starting a second one).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_models",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("remote_model", sa.String(length=200), nullable=False),
        sa.Column("prices", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_provider_models")),
    )
    op.create_table(
        "provider_tasks",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("remote_model", sa.String(length=200), nullable=False),
        sa.Column("task_id", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("creates", sa.Integer(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_provider_tasks_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_provider_tasks")),
    )
    op.create_index(
        "ix_provider_tasks_provider_state", "provider_tasks", ["provider", "state"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_provider_tasks_provider_state", table_name="provider_tasks")
    op.drop_table("provider_tasks")
    op.drop_table("provider_models")
