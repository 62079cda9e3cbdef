"""Shared fixtures: isolated platforms on SQLite (always) and on PostgreSQL + Redis (when the
services answer at 127.0.0.1; tests say so when they skip)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.config import Settings
from tests.fakes import GradientBackend

PG_URL = os.environ.get("RF_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("RF_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# .ci/run sets RF_TEST_REQUIRE_SERVICES=1: there a PostgreSQL, Redis or redis-server that is
# missing fails the run, rather than skipping every PostgreSQL + Redis variant quietly.
REQUIRE_SERVICES = os.environ.get("RF_TEST_REQUIRE_SERVICES", "") == "1"


def service_missing(reason: str) -> NoReturn:
    """Skip for want of a service (a developer's machine), or fail where CI requires it."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (RF_TEST_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def _postgres_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=2):
            return None
    except Exception as exc:  # the service is absent or refuses us
        return f"PostgreSQL not reachable at {PG_URL}: {exc}"


def _redis_reachable() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    reason = _postgres_reachable()
    if reason:
        service_missing(reason)
    import psycopg

    name = f"rf_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    reason = _redis_reachable()
    if reason:
        service_missing(reason)
    return REDIS_URL


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "heartbeat_interval": 0.2,
        "heartbeat_timeout": 2.0,
        "reaper_interval": 0.2,
        "progress_interval": 0.0,
        "stop_grace": 5.0,
        "queue_namespace": f"t{secrets.token_hex(4)}",
        "worker_queues": [],
        "webhook_allow_hosts": ["127.0.0.1", "localhost"],
        "webhook_backoff": 0.2,
        # Tests of other features run on the operator's plan (metered, never limited);
        # billing tests choose real plans.
        "default_plan": "internal",
        # Tests of the worker run every job; the result cache has its own tests.
        "result_cache": "off",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _truncate_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' "
            "AND tablename <> 'alembic_version'"
        ).fetchall()
        if rows:
            conn.execute("TRUNCATE " + ", ".join(f'"{r[0]}"' for r in rows) + " CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest) -> str:
    """Which deployment shape a test runs on: embedded SQLite, or PostgreSQL + Redis."""
    return str(request.param)


@pytest.fixture
def settings(stack: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if stack == "sqlite":
        return make_settings(tmp_path)
    pg = request.getfixturevalue("pg_database")
    redis_url = request.getfixturevalue("redis_url")
    _truncate_pg(pg)
    return make_settings(tmp_path, database_url=pg, queue_url=redis_url)


@pytest.fixture
def backend() -> GradientBackend:
    return GradientBackend()


@pytest.fixture
def platform(settings: Settings, backend: GradientBackend) -> Iterator[Platform]:
    settings.worker_queues.append(backend.queue)
    p = bootstrap(settings, backends=[backend])
    yield p
    p.close()
