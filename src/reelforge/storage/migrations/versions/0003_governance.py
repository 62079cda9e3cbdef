"""governance: audit log, review queue, likeness registry; job moderation record

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "audit_log",
        _id(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("subject", sa.String(length=60), nullable=True),
        sa.Column("policy", sa.String(length=100), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_audit_log_subject", ["subject"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # append-only: rows are never changed; only the retention purge deletes old ones
        op.execute("""
            CREATE FUNCTION reelforge_audit_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql;
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION reelforge_audit_append_only();
        """)
    else:
        op.execute("""
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """)

    op.create_table(
        "likeness_people",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_figure", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_likeness_people")),
    )
    op.create_table(
        "likeness_faces",
        _id(),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("embedding", sa.JSON(), nullable=False),
        sa.Column("photo_blob", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["likeness_people.id"],
            name=op.f("fk_likeness_faces_person_id_likeness_people"),
        ),
        sa.ForeignKeyConstraint(
            ["photo_blob"], ["blobs.key"], name=op.f("fk_likeness_faces_photo_blob_blobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_likeness_faces")),
    )
    with op.batch_alter_table("likeness_faces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_likeness_faces_person_id"), ["person_id"], unique=False
        )
    op.create_table(
        "likeness_consents",
        _id(),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("grantee", sa.String(length=40), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["likeness_people.id"],
            name=op.f("fk_likeness_consents_person_id_likeness_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_likeness_consents")),
    )
    with op.batch_alter_table("likeness_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_likeness_consents_person_id"), ["person_id"], unique=False
        )
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_reviews_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_reviews_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            "ix_reviews_status_created_at", ["status", "created_at"], unique=False
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moderation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("moderation")
    op.drop_table("reviews")
    op.drop_table("likeness_consents")
    op.drop_table("likeness_faces")
    op.drop_table("likeness_people")
    op.execute(
        "DROP TRIGGER IF EXISTS audit_log_append_only"
        + (" ON audit_log" if op.get_bind().dialect.name == "postgresql" else "")
    )
    op.drop_table("audit_log")
