"""Tables of the commerce driver: a brand kit per account, and batches of promo clips with
one item per (product SKU, aspect) — the unit a batch resumes by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reelforge.storage.tables import Base


class BrandKit(Base):
    """An account's brand: logo (a stored image blob), colours, font, tagline, call to action."""

    __tablename__ = "brand_kits"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    logo_upload_id: Mapped[str | None] = mapped_column(String(40))  # an upload of the account
    primary_color: Mapped[str] = mapped_column(String(7))
    accent_color: Mapped[str] = mapped_column(String(7))
    text_color: Mapped[str] = mapped_column(String(7))
    background_color: Mapped[str] = mapped_column(String(7))
    font: Mapped[str] = mapped_column(String(32))
    tagline: Mapped[str | None] = mapped_column(String(200))
    cta: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime]


class CommerceBatch(Base):
    __tablename__ = "commerce_batches"
    __table_args__ = (Index("ix_commerce_batches_account_id", "account_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    template: Mapped[str] = mapped_column(String(32))
    aspects: Mapped[list[Any]] = mapped_column(JSON)
    resolution: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))  # running | done
    catalog_name: Mapped[str] = mapped_column(String(200))
    products: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[list[Any]] = mapped_column(JSON)  # per-row import errors
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CommerceBatchItem(Base):
    """One clip of a batch: a product in one aspect, and the ordinary job that renders it."""

    __tablename__ = "commerce_batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "sku", "aspect", name="uq_commerce_batch_items_key"),
        Index("ix_commerce_batch_items_job_id", "job_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("commerce_batches.id"))
    sku: Mapped[str] = mapped_column(String(64))
    aspect: Mapped[str] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    product: Mapped[dict[str, Any]] = mapped_column(JSON)  # the validated catalogue row
    status: Mapped[str] = mapped_column(String(16))  # pending | queued | succeeded | failed
    job_id: Mapped[str | None] = mapped_column(String(40))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    path: Mapped[str | None] = mapped_column(String(300))  # inside the batch folder / zip
    updated_at: Mapped[datetime]
