"""billing: credit lots, double-entry ledger, usage events, payments, Stripe events, plan
changes; plan, budgets and Stripe ids on accounts; budgets on keys; credits, cost and cache
key on jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("ledger_transactions", "ledger_entries")


def upgrade() -> None:
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("result", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "credit_lots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("unit_usd", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("txn_id", sa.String(length=40), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_lots_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_lots")),
    )
    op.create_index(
        "ix_credit_lots_account_id_expires_at",
        "credit_lots",
        ["account_id", "expires_at"],
        unique=False,
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("key_id", sa.String(length=40), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ledger_transactions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transactions_idempotency_key")),
    )
    op.create_index(
        "ix_ledger_transactions_account_id_created_at",
        "ledger_transactions",
        ["account_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ledger_transactions_job_id"), "ledger_transactions", ["job_id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("plan", sa.String(length=40), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payments_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(
        "ix_payments_account_id_created_at", "payments", ["account_id", "created_at"], unique=False
    )
    op.create_table(
        "plan_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("from_plan", sa.String(length=40), nullable=True),
        sa.Column("to_plan", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_plan_changes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_changes")),
    )
    op.create_index(
        "ix_plan_changes_account_id_created_at",
        "plan_changes",
        ["account_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "usage_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("rate_usd", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("device", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("plan", sa.String(length=40), nullable=True),
        sa.Column("resolution", sa.String(length=10), nullable=True),
        sa.Column("preset", sa.String(length=10), nullable=True),
        sa.Column("output_seconds", sa.Float(), nullable=True),
        sa.Column("segment", sa.String(length=20), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_usage_events_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_usage_events_idempotency_key")),
    )
    op.create_index(
        "ix_usage_events_account_id_created_at",
        "usage_events",
        ["account_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_usage_events_created_at", "usage_events", ["created_at"], unique=False)
    op.create_index(op.f("ix_usage_events_job_id"), "usage_events", ["job_id"], unique=False)
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("txn_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("book", sa.String(length=20), nullable=False),
        sa.Column("lot_id", sa.String(length=40), nullable=True),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["txn_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_txn_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        "ix_ledger_entries_account_id_book", "ledger_entries", ["account_id", "book"], unique=False
    )
    op.create_index(op.f("ix_ledger_entries_lot_id"), "ledger_entries", ["lot_id"], unique=False)
    op.create_index(op.f("ix_ledger_entries_job_id"), "ledger_entries", ["job_id"], unique=False)
    op.create_index(op.f("ix_ledger_entries_txn_id"), "ledger_entries", ["txn_id"], unique=False)
    op.add_column(
        "accounts", sa.Column("plan", sa.String(length=40), nullable=False, server_default="free")
    )
    op.add_column(
        "accounts",
        sa.Column("plan_source", sa.String(length=20), nullable=False, server_default="operator"),
    )
    op.add_column(
        "accounts", sa.Column("plan_started_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "accounts",
        sa.Column("segment", sa.String(length=20), nullable=False, server_default="creator"),
    )
    op.add_column("accounts", sa.Column("stripe_customer_id", sa.String(length=100), nullable=True))
    op.add_column(
        "accounts", sa.Column("stripe_subscription_id", sa.String(length=100), nullable=True)
    )
    op.add_column("accounts", sa.Column("subscription_status", sa.String(length=30), nullable=True))
    op.add_column("accounts", sa.Column("period_end", sa.DateTime(timezone=True), nullable=True))
    op.add_column("accounts", sa.Column("daily_credit_limit", sa.BigInteger(), nullable=True))
    op.add_column("accounts", sa.Column("monthly_credit_limit", sa.BigInteger(), nullable=True))
    op.add_column(
        "accounts", sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index(
        op.f("ix_accounts_stripe_customer_id"), "accounts", ["stripe_customer_id"], unique=False
    )
    op.add_column("api_keys", sa.Column("daily_credit_limit", sa.BigInteger(), nullable=True))
    op.add_column("api_keys", sa.Column("monthly_credit_limit", sa.BigInteger(), nullable=True))
    op.add_column("jobs", sa.Column("key_id", sa.String(length=40), nullable=True))
    op.add_column("jobs", sa.Column("credits", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column(
        "jobs", sa.Column("billing", sa.String(length=20), nullable=False, server_default="none")
    )
    op.add_column(
        "jobs", sa.Column("credits_charged", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.add_column("jobs", sa.Column("cost_usd", sa.Float(), nullable=True))
    op.add_column("jobs", sa.Column("cache_key", sa.String(length=64), nullable=True))
    op.add_column("jobs", sa.Column("cached_from", sa.String(length=40), nullable=True))
    op.add_column(
        "jobs", sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index("ix_jobs_account_id_status", "jobs", ["account_id", "status"], unique=False)
    op.create_index("ix_jobs_cache_key", "jobs", ["cache_key"], unique=False)

    # The ledger is append-only: corrections are new transactions, never edits.
    for table in _APPEND_ONLY:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"""
                CREATE FUNCTION reelforge_{table}_append_only() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql;
                CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION reelforge_{table}_append_only();
            """)
        else:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"""
                    CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
                    BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;
                """)


def downgrade() -> None:
    for table in (
        "plan_changes",
        "stripe_events",
        "payments",
        "usage_events",
        "ledger_entries",
        "ledger_transactions",
        "credit_lots",
    ):
        op.drop_table(table)
        if table in _APPEND_ONLY and op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP FUNCTION IF EXISTS reelforge_{table}_append_only()")
    for table, columns in (
        (
            "jobs",
            [
                "key_id",
                "credits",
                "billing",
                "credits_charged",
                "cost_usd",
                "cache_key",
                "cached_from",
                "simulated",
            ],
        ),
        ("api_keys", ["daily_credit_limit", "monthly_credit_limit"]),
        (
            "accounts",
            [
                "plan",
                "plan_source",
                "plan_started_at",
                "segment",
                "stripe_customer_id",
                "stripe_subscription_id",
                "subscription_status",
                "period_end",
                "daily_credit_limit",
                "monthly_credit_limit",
                "simulated",
            ],
        ),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "jobs":
                batch_op.drop_index("ix_jobs_account_id_status")
                batch_op.drop_index("ix_jobs_cache_key")
            if table == "accounts":
                batch_op.drop_index("ix_accounts_stripe_customer_id")
            for column in columns:
                batch_op.drop_column(column)
