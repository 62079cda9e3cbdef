"""Write src/reelforge/storage/migrations/sqlite_head.sql again after adding a migration:
migrate a new SQLite database with alembic and dump it with SQLite's iterdump (see
reelforge/storage/sqlite_head.py; tests/unit/test_sqlite_head.py fails until this is run).

    .venv/bin/python tools/write_sqlite_head.py
"""

from __future__ import annotations

import sqlite3
import tempfile

from reelforge.storage.db import Database
from reelforge.storage.sqlite_head import SNAPSHOT


def dump_migrated() -> tuple[list[str], str]:
    """Migrate a new SQLite database with alembic; (its revisions oldest first, its dump)."""
    with tempfile.TemporaryDirectory(prefix="reelforge-schema-") as tmp:
        db = Database(f"sqlite:///{tmp}/schema.db")
        try:
            revisions = db.migrate(use_snapshot=False)
        finally:
            db.dispose()
        with sqlite3.connect(f"{tmp}/schema.db") as conn:
            return revisions, "\n".join(conn.iterdump()) + "\n"


def main() -> None:
    revisions, script = dump_migrated()
    header = (
        "-- The schema migrations/versions make on a new SQLite database, dumped by SQLite.\n"
        "-- Written by `python tools/write_sqlite_head.py`; do not edit by hand.\n"
        f"-- revisions: {' '.join(revisions)}\n"
    )
    SNAPSHOT.write_text(header + script, encoding="utf-8")
    print(f"{SNAPSHOT}: revisions {' '.join(revisions)}")


if __name__ == "__main__":
    main()
