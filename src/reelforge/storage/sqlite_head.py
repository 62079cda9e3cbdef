"""A new SQLite database made at the newest schema by one script, not by running every
migration.

Running the migrations through alembic costs a fresh SQLite database about 1 s of CPU
(importing alembic ~0.5 s, then the revisions one by one): that is a new user's first
`reelforge generate`, and every test that starts on an empty data directory. The script,
`migrations/sqlite_head.sql`, is what those migrations leave behind, dumped by SQLite itself
(`iterdump`: the tables, indexes and the append-only triggers exactly as created, the rows the
migrations insert, the alembic version), so a database made from it is the database the
migrations make. It is used only on an SQLite database with no tables at all, and only when
its head is the head of `migrations/versions`; anything else (an older database, a new
migration whose snapshot was not written yet, PostgreSQL) migrates with alembic as before.
`tests/unit/test_sqlite_head.py` compares both ways object by object and row by row, and fails
when a migration is added without writing the script again:

    .venv/bin/python tools/write_sqlite_head.py   # writes migrations/sqlite_head.sql
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, inspect

SNAPSHOT = Path(__file__).parent / "migrations" / "sqlite_head.sql"
_HEADER = re.compile(r"^-- revisions: (?P<revisions>[\w ]+)$", re.MULTILINE)


def snapshot_revisions(path: Path = SNAPSHOT) -> list[str]:
    """The revisions the script stands for, oldest first ([] when there is none)."""
    try:
        return _revisions_of(path.read_text(encoding="utf-8"))
    except OSError:
        return []


def _revisions_of(script: str) -> list[str]:
    found = _HEADER.search(script)
    return found["revisions"].split() if found else []


def create(engine: Engine, head: str | None) -> list[str] | None:
    """Make an empty SQLite database the newest schema from the script: the revisions it
    stands for, oldest first; None (nothing done) when the script is not at `head` or the
    database already has a table."""
    try:
        script = SNAPSHOT.read_text(encoding="utf-8")
    except OSError:
        return None
    revisions = _revisions_of(script)
    if head is None or not revisions or revisions[-1] != head:
        return None
    if inspect(engine).get_table_names():
        return None
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        try:  # the script is one transaction (BEGIN ... COMMIT)
            driver.executescript(script)
        except BaseException:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            raise
    finally:
        raw.close()
    return revisions
