"""Engines, sessions and migrations for SQLite (embedded) and PostgreSQL (fleet).

SQLite notes: WAL mode, a generous busy timeout, and two engines — writes open with
BEGIN IMMEDIATE (so a read-then-write transaction never fails on lock upgrade), reads with
a plain deferred BEGIN (so readers never wait on each other).

PostgreSQL lock order (every transaction that takes more than one lock keeps it, so two
transactions never wait on each other in a circle):
  1. the account row (`repositories.lock_account`, FOR UPDATE) — submit, cancel-time and
     final-status bookkeeping (`services.jobs.finalize.record_final`, `services.jobs.admission`);
  2. then job rows (claim, progress, final status), then the rows that hang off them
     (events, ledger entries, webhook deliveries).
A transaction holding the account lock never waits on another's job row: it looks for an
existing `external_id` again after taking the lock (services.jobs.submit), and picks throttled
jobs with SKIP LOCKED (services.jobs.admission). Note that PostgreSQL re-checks a foreign key
(a KEY SHARE lock on the account) when a transaction updates a job row a second time, so a
job-row writer can wait on the account: that is fine as long as the account holder never
waits on it. Any deadlock or serialisation failure left is retried by `Database.retrying`.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from reelforge.errors import ServiceUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 7_361_042_190  # arbitrary app-wide advisory lock id
RETRY_TRIES = 5  # Database.retrying: tries of a unit of work aborted as a deadlock victim


def normalise_url(url: str) -> str:
    """Accept postgresql:// and postgres:// and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=10, max_overflow=20
    )

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
    parsed = make_url(url)
    name, user = parsed.database or "", parsed.username or ""
    postgres = parsed.get_backend_name() == "postgresql"
    # PostgreSQL says `database "x" does not exist` and, for an unknown user, `role "x" does
    # not exist`: only the first is a database to create
    if postgres and re.search(r'database "[^"]*" does not exist', reason):
        return ServiceUnavailable(
            f"the database {name!r} does not exist on {shown}: create it (CREATE DATABASE "
            f'"{name}"; or `createdb {name}`) or fix RF_DATABASE_URL',
            code="database_missing",
        )
    if postgres and (
        re.search(r'role "[^"]*" does not exist', reason) or "authentication failed" in reason
    ):
        return ServiceUnavailable(
            f"the database at {shown} refused the user {user!r} ({reason}): create the role "
            f'(CREATE ROLE "{user}" LOGIN PASSWORD ...; GRANT it the database) or fix the user '
            "and password in RF_DATABASE_URL",
            code="database_access_denied",
        )
    return ServiceUnavailable(
        f"cannot reach the database at {shown} ({reason}): start it, or fix RF_DATABASE_URL",
        code="database_unreachable",
    )


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
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20, pool_pre_ping=True)
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

    def retrying(self, *, write: bool = True, tries: int = RETRY_TRIES) -> Iterator[Attempt]:
        """A unit of work run again when PostgreSQL aborts it as a deadlock victim (40P01) or
        a serialisation failure (40001): nothing of the aborted try was committed, so doing
        it again is safe. Use as::

            for attempt in db.retrying():
                with attempt as s:
                    ...  # the whole transaction; keep side effects outside it

        Any other error, or the last try's, propagates."""
        for n in range(tries):
            attempt = Attempt(self, write=write, last=n == tries - 1)
            yield attempt
            if attempt.committed:
                return
            time.sleep(random.uniform(0.0, 0.02 * 2**n))  # jitter: the winner goes first

    def migrate(self, *, use_snapshot: bool = True) -> list[str]:
        """Bring the schema to the newest revision; the revisions applied now, oldest first
        (also kept in `applied_migrations`). Safe to call from many processes at once. A
        database that cannot be reached or opened raises ServiceUnavailable (one line).
        A new, empty SQLite database is made from the migrations' dumped result in one script
        (storage/sqlite_head.py) when that is at the newest revision."""
        with self._migration_lock():
            current, self.revision = self.schema_revision()
            if current == self.revision:
                self.applied_migrations = []
                return []
            if use_snapshot and current is None and self.dialect == "sqlite":
                from reelforge.storage import sqlite_head

                made = sqlite_head.create(self.engine, self.revision)
                if made is not None:
                    self.applied_migrations = made
                    return made
            from alembic import command
            from alembic.script import ScriptDirectory

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
        """(the database's revision, the newest one this code knows). Read without alembic
        (importing it costs ~0.3 s of CPU, on every command) unless the version table or the
        migration files are not plain: several rows, revision ids that are not literals."""
        head = script_head()
        try:
            with self.engine.connect() as conn:
                rows: list[str] | None = None
                if head is not None:
                    rows = (
                        list(
                            conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
                        )
                        if inspect(conn).has_table("alembic_version")
                        else []
                    )
                if rows is not None and len(rows) <= 1:
                    return (rows[0] if rows else None), head
                from alembic.runtime.migration import MigrationContext

                current = MigrationContext.configure(conn).get_current_revision()
        except (OperationalError, InterfaceError) as exc:
            raise database_unavailable(self.url, exc) from None
        from alembic.script import ScriptDirectory

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


_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def retryable(exc: BaseException) -> bool:
    """A transaction PostgreSQL aborted so that another could go on: safe to run again."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RETRYABLE


class Attempt:
    """One try of a unit of work (see Database.retrying): a transaction whose deadlock or
    serialisation failure is swallowed, except on the last try, so that the loop runs it
    again."""

    def __init__(self, db: Database, *, write: bool, last: bool):
        self.db, self.write, self.last = db, write, last
        self.committed = False
        self._cm: contextlib.AbstractContextManager[Session] | None = None

    def __enter__(self) -> Session:
        self._cm = self.db.session(write=self.write)
        return self._cm.__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        assert self._cm is not None
        try:
            self._cm.__exit__(exc_type, exc, tb)  # commits, or rolls back on an error
        except DBAPIError as failed:  # the commit itself was aborted
            if retryable(failed) and not self.last:
                return True
            raise
        if exc is None:
            self.committed = True
            return False
        return retryable(exc) and not self.last


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)


def script_head() -> str | None:
    """The newest revision of migrations/versions, read from the files' `revision` and
    `down_revision` lines (what alembic reads), or None when that is not plain: a file
    without them, a value that is not a literal, no single head. Then alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        downs = down if isinstance(down, tuple | list) else (down,)
        if not isinstance(revision, str) or not all(d is None or isinstance(d, str) for d in downs):
            return None
        revisions.add(revision)
        parents.update(d for d in downs if d)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
