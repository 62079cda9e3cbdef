"""Tables of the money side: credit lots, the double-entry ledger, usage events (metering),
payments, processed Stripe events and plan changes. All append-only except the lots' and
accounts' descriptive columns; balances are sums of ledger entries, never stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reelforge.storage.tables import Base

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class CreditLot(Base):
    """Credits granted together: a daily or monthly plan grant, a top-up, an operator grant.
    What is left of a lot is the sum of its ledger entries; it is usable until `expires_at`."""

    __tablename__ = "credit_lots"
    __table_args__ = (Index("ix_credit_lots_account_id_expires_at", "account_id", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    source: Mapped[str] = mapped_column(String(20))  # daily | monthly | topup | grant
    credits: Mapped[int] = mapped_column(BigInteger)  # as granted
    unit_usd: Mapped[float] = mapped_column(Float, default=0.0)  # revenue per credit spent
    expires_at: Mapped[datetime | None]  # None: never
    created_at: Mapped[datetime]
    txn_id: Mapped[str] = mapped_column(String(40))  # the grant transaction
    # When an expired lot was written off; closed lots are left out of balance queries, so
    # they cost the same however long an account's history grows.
    closed_at: Mapped[datetime | None]


class LedgerTransaction(Base):
    """One balanced movement of credits (its entries sum to zero). `idempotency_key` makes
    every write safe to repeat: the second attempt finds the first and changes nothing."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        Index("ix_ledger_transactions_account_id_created_at", "account_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    # grant | reserve | capture | release | charge | expire | invoice
    kind: Mapped[str] = mapped_column(String(20))
    credits: Mapped[int] = mapped_column(BigInteger)  # magnitude moved, for reports
    job_id: Mapped[str | None] = mapped_column(String(40), index=True)
    key_id: Mapped[str | None] = mapped_column(String(40))
    memo: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    """One leg of a transaction. Books: `lot` (an account's usable credits, per lot),
    `hold` (reserved for a job), `postpaid` (an invoiced account's running debt), and the
    platform's `issued`, `consumed`, `expired` books that balance them."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account_id_book", "account_id", "book"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(40))
    book: Mapped[str] = mapped_column(String(20))
    lot_id: Mapped[str | None] = mapped_column(String(40), index=True)
    job_id: Mapped[str | None] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # signed credits
    created_at: Mapped[datetime]


class UsageEvent(Base):
    """Metering: what a job consumed and what it cost (compute, storage, moderation), one
    row per kind, written once per job attempt (`idempotency_key`)."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_created_at", "created_at"),
        Index("ix_usage_events_account_id_created_at", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    job_id: Mapped[str | None] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # compute | storage | moderation
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))  # device_second | gb_month | cpu_second
    rate_usd: Mapped[float] = mapped_column(Float)  # per unit
    cost_usd: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(20))  # the job's final status
    device: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    plan: Mapped[str | None] = mapped_column(String(40))
    resolution: Mapped[str | None] = mapped_column(String(10))
    preset: Mapped[str | None] = mapped_column(String(10))
    output_seconds: Mapped[float | None] = mapped_column(Float)  # of video asked for
    segment: Mapped[str | None] = mapped_column(String(20))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class Payment(Base):
    """Money received: a subscription invoice or a top-up (Stripe), or an enterprise invoice."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_account_id_created_at", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # provider's object id
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    provider: Mapped[str] = mapped_column(String(20))  # stripe | invoice
    kind: Mapped[str] = mapped_column(String(20))  # subscription | topup | invoice
    plan: Mapped[str | None] = mapped_column(String(40))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    credits: Mapped[int] = mapped_column(BigInteger, default=0)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class StripeEvent(Base):
    """Stripe events already applied: a replayed event is acknowledged and ignored."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(60))
    account_id: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]


class PlanChange(Base):
    """Every change of an account's plan (signup included), for conversion and churn."""

    __tablename__ = "plan_changes"
    __table_args__ = (Index("ix_plan_changes_account_id_created_at", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    from_plan: Mapped[str | None] = mapped_column(String(40))
    to_plan: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # signup | operator | stripe
    created_at: Mapped[datetime]
