"""A new SQLite database made from migrations/sqlite_head.sql is the database the migrations
make (storage/sqlite_head.py), and the script follows the migrations."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from reelforge.storage import sqlite_head
from reelforge.storage.db import Database, script_head


def _contents(path: Path) -> tuple[list[tuple[str, ...]], dict[str, list[tuple[object, ...]]]]:
    with sqlite3.connect(path) as conn:
        objects = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        tables = [o[1] for o in objects if o[0] == "table"]
        rows = {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
        }
    return objects, rows


def test_the_script_is_at_the_newest_migration() -> None:
    assert sqlite_head.snapshot_revisions()[-1] == script_head(), (
        "a migration was added: run `python tools/write_sqlite_head.py` "
        "to write migrations/sqlite_head.sql again"
    )


def test_a_database_from_the_script_is_the_one_the_migrations_make(tmp_path: Path) -> None:
    by_script, by_alembic = tmp_path / "script.db", tmp_path / "alembic.db"
    fast, slow = Database(f"sqlite:///{by_script}"), Database(f"sqlite:///{by_alembic}")
    try:
        assert fast.migrate() == slow.migrate(use_snapshot=False)
        assert fast.applied_migrations == sqlite_head.snapshot_revisions()
        assert fast.migrate() == [] and fast.revision == script_head()  # at head: nothing to do
    finally:
        fast.dispose()
        slow.dispose()
    objects, rows = _contents(by_script)
    assert any(o[0] == "trigger" for o in objects)  # the append-only rules came along
    assert (objects, rows) == _contents(by_alembic)


def test_a_fresh_sqlite_database_is_made_without_alembic(tmp_path: Path) -> None:
    """What makes the first command on a new data directory ~1 s faster: alembic is not even
    imported."""
    code = (
        "import sys; from reelforge.storage.db import Database; "
        f"db = Database('sqlite:///{tmp_path / 'new.db'}'); print(len(db.migrate())); "
        "print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(len(sqlite_head.snapshot_revisions())), "False"]


def test_a_database_with_tables_or_an_old_script_is_left_to_alembic(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # tables of its own, no alembic version
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    db = Database(f"sqlite:///{path}")
    try:
        assert sqlite_head.create(db.engine, script_head()) is None  # not empty: left alone
        assert sqlite_head.create(db.engine, "not-the-head") is None
    finally:
        db.dispose()
