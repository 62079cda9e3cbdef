"""Tables of hosted-model backends: provider models an operator registered (a name for one
remote model id, with an optional price sheet of its own) and the per-job checkpoint of the
remote task (its id is written before the worker waits on it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reelforge.storage.tables import Base


class ProviderModel(Base):
    """`reelforge models add NAME --provider P --remote-model ID`. No credentials here: they
    come from settings (RF_PROVIDER_*), never from the database."""

    __tablename__ = "provider_models"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))  # kling | runway | luma | ...
    remote_model: Mapped[str] = mapped_column(String(200))
    prices: Mapped[dict[str, Any] | None]  # a --price-file sheet; None: the built-in sheet
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProviderTask(Base):
    """One job's remote task. `state`: creating (the create call is under way: its id is not
    known yet), submitted, running, succeeded, failed, cancelled. `creates` counts create calls
    (a resumed job must not make a second one), `polls` status queries."""

    __tablename__ = "provider_tasks"
    __table_args__ = (Index("ix_provider_tasks_provider_state", "provider", "state"),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    remote_model: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer)  # the job attempt that last worked on it
    creates: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)  # the provider's failure message
    cost_usd: Mapped[float | None] = mapped_column(Float)
    callback_at: Mapped[datetime | None]  # the provider's callback arrived (polling wakes)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
