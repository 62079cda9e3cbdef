"""Engines, sessions and migrations for SQLite (embedded) and PostgreSQL (fleet).

SQLite notes: WAL mode, a generous busy timeout, and two engines — writes open with
BEGIN IMMEDIATE (so a read-then-write transaction never fails on lock upgrade), reads with
a plain deferred BEGIN (so readers never wait on each other).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from reelforge.errors import ServiceUnavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 7_361_042_190  # arbitrary app-wide advisory lock id


def normalise_url(url: str) -> str:
    """Accept postgresql:// and postgres:// and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                           pool_size=10, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def database_unavailable(url: str, exc: Exception) -> ServiceUnavailable:
    """A connection failure as one line that says what to change (the password masked)."""
    from reelforge.config import mask_url

    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    reason = reason.split("(Background on this error")[0].strip()[:300]
    shown = mask_url(url.replace("+psycopg", ""))
    name = make_url(url).database or ""
    if "does not exist" in reason and make_url(url).get_backend_name() == "postgresql":
        return ServiceUnavailable(
            f"the database {name!r} does not exist on {shown}: create it (CREATE DATABASE "
            f"\"{name}\"; or `createdb {name}`) or fix RF_DATABASE_URL",
            code="database_missing")
    return ServiceUnavailable(f"cannot reach the database at {shown} ({reason}): start it, "
                              "or fix RF_DATABASE_URL", code="database_unreachable")


class Database:
    """Owns the engines and hands out sessions. One per process."""

    def __init__(self, url: str):
        self.applied_migrations: list[str] = []  # set by migrate(): what it applied now
        self.revision: str | None = None  # the schema's revision after migrate()
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            db_path = parsed.database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(self.url, immediate=True)
            self.read_engine = _sqlite_engine(self.url, immediate=False)
        elif self.dialect == "postgresql":
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20,
                                        pool_pre_ping=True)
            self.read_engine = self.engine
        else:
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any exception."""
        maker = self._writer if write else self._reader
        with maker() as session, session.begin():
            yield session

    def migrate(self) -> list[str]:
        """Bring the schema to the newest revision; the revisions applied now, oldest first
        (also kept in `applied_migrations`). Safe to call from many processes at once. A
        database that cannot be reached or opened raises ServiceUnavailable (one line)."""
        with self._migration_lock():
            current, self.revision = self.schema_revision()
            if current == self.revision:
                self.applied_migrations = []
                return []
            cfg = alembic_config(self.url)
            script = ScriptDirectory.from_config(cfg)
            pending = [rev.revision for rev in script.iterate_revisions("head", current)]
            # errors here are the migrations' own (not reachability): they propagate as they are
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        self.applied_migrations = pending[::-1]
        return self.applied_migrations

    def schema_revision(self) -> tuple[str | None, str | None]:
        """(the database's revision, the newest one this code knows)."""
        try:
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
        except (OperationalError, InterfaceError) as exc:
            raise database_unavailable(self.url, exc) from None
        return current, ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect == "postgresql":
            try:
                conn = self.engine.connect()
            except (OperationalError, InterfaceError) as exc:
                raise database_unavailable(self.url, exc) from None
            with conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                    conn.commit()
            return
        db_path = make_url(self.url).database
        if not db_path or db_path == ":memory:":
            yield
            return
        with open(f"{db_path}.migrate-lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
