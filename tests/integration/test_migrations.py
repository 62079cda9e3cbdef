"""The Alembic migrations and the ORM tables describe the same schema, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from reelforge.storage.db import Database
from reelforge.storage.tables import Base


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return Database(f"sqlite:///{tmp_path}/m.db")
    return Database(request.getfixturevalue("pg_database"))


def test_migrations_match_the_models_and_are_idempotent(database: Database) -> None:
    database.migrate()
    database.migrate()  # a second start is a no-op
    with database.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    database.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/w.db")
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_concurrent_starts_migrate_once(tmp_path: Path) -> None:
    import threading

    errors: list[Exception] = []

    def start() -> None:
        try:
            d = Database(f"sqlite:///{tmp_path}/c.db")
            d.migrate()
            d.dispose()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
