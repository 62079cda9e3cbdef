"""Indexes for GET /metrics: each scrape reads the jobs and webhook deliveries that reached a
final state since the last one (by finished_at), so it does not scan the whole table

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])
    op.create_index("ix_webhook_deliveries_finished_at", "webhook_deliveries", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_finished_at", table_name="webhook_deliveries")
    op.drop_index("ix_jobs_finished_at", table_name="jobs")
