"""Tables of browser sign-in: a login (e-mail + argon2id hash) per account, the browser
sessions (stored by the SHA-256 of their token, never the token) and failed sign-ins (login
rate limiting that holds across the API nodes of a fleet)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from reelforge.storage.tables import Base


class Login(Base):
    """How a person signs in to an account in a browser. Operators are accounts with
    `accounts.is_admin` set (the one operator flag the API keys already use)."""

    __tablename__ = "logins"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]


class WebSession(Base):
    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_login_id", "login_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token) hex
    login_id: Mapped[str] = mapped_column(ForeignKey("logins.id"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LoginFailure(Base):
    """One failed sign-in, under a key such as `email:<address>` or `ip:<address>`."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime]
