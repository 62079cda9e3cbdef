"""The guard-model registry (issue 17): guard models an operator registered as local
directories (`reelforge guards add`). Weights are never downloaded; the path is read on the
machine that runs the guard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reelforge.storage.tables import Base


class GuardModel(Base):
    __tablename__ = "guard_models"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    family: Mapped[str] = mapped_column(String(20))  # llama-guard | qwen3guard | shieldgemma
    path: Mapped[str] = mapped_column(Text)
    device: Mapped[str] = mapped_column(String(40))  # cpu | cuda | cuda:N
    dtype: Mapped[str] = mapped_column(String(10))  # bf16 | fp16 | fp32
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
