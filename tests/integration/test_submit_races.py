"""PostgreSQL: idempotent re-submits of the same external_id racing a worker's claim never
deadlock into a 500, and every claim goes through at once (no message waits for the reaper).
The lock order is documented in reelforge/storage/db.py."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage.db import Database, retryable
from reelforge.worker.loop import Worker
from tests.conftest import _truncate_pg, make_settings
from tests.fakes import GradientBackend
from tests.helpers import wait_for

THREADS, IDS = 8, 8


@pytest.fixture
def pg(tmp_path: Path, pg_database: str, redis_url: str) -> Iterator[Platform]:
    _truncate_pg(pg_database)
    backend = GradientBackend()
    settings = make_settings(
        tmp_path, database_url=pg_database, queue_url=redis_url, reaper_interval=600.0
    )  # a lost claim must not be rescued
    settings.worker_queues.append(backend.queue)
    p = bootstrap(settings, backends=[backend])
    yield p
    p.close()


@pytest.mark.slow
def test_parallel_resubmits_while_a_worker_claims_never_fail(pg: Platform) -> None:
    acct = accounts.ensure_account(pg, "alice")
    errors: collections.Counter[str] = collections.Counter()
    ids: dict[str, set[str]] = collections.defaultdict(set)
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def resubmit() -> None:
        start.wait()
        for i in range(IDS):
            body = {
                "prompt": "x",
                "duration": 1,
                "resolution": "480p",
                "model": "gradient",
                "external_id": f"order-{i}",
            }
            try:
                job = submit_job(pg, acct, SubmitRequest.parse(body)).job
            except Exception as exc:  # what the API would answer with a 500
                with lock:
                    errors[f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"] += 1
                continue
            with lock:
                ids[f"order-{i}"].add(str(job["id"]))

    worker = Worker(pg, concurrency=2).start()
    try:
        threads = [threading.Thread(target=resubmit) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert {k: len(v) for k, v in ids.items()} == {f"order-{i}": 1 for i in range(IDS)}
        # every job was claimed and finished by the worker: none lost a claim (the reaper,
        # which would rescue one after a while, is off)
        for (job_id,) in ids.values():
            wait_for(
                lambda j=job_id: queries.get_job(pg, acct, j)["status"] == "succeeded", timeout=60
            )
    finally:
        worker.stop()


def test_retrying_runs_a_deadlock_victim_again(pg: Platform) -> None:
    """Two transactions taking two rows in opposite orders: PostgreSQL aborts one (40P01);
    Database.retrying runs it again and both complete."""
    db: Database = pg.db
    with db.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS t_retry (id int primary key, n int)"))
        s.execute(text("DELETE FROM t_retry"))
        s.execute(text("INSERT INTO t_retry VALUES (1, 0), (2, 0)"))
    both = threading.Barrier(2)
    tries: collections.Counter[int] = collections.Counter()
    failures: list[BaseException] = []

    def unit(first: int, second: int) -> None:
        try:
            for attempt in db.retrying():
                with attempt as s:
                    tries[first] += 1
                    s.execute(text("UPDATE t_retry SET n = n + 1 WHERE id = :i"), {"i": first})
                    if tries[first] == 1:
                        both.wait(10)  # both hold their first row: a deadlock follows
                    s.execute(text("UPDATE t_retry SET n = n + 1 WHERE id = :i"), {"i": second})
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=unit, args=(1, 2)),
        threading.Thread(target=unit, args=(2, 1)),
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert failures == []
        assert sorted(tries.values()) == [1, 2]  # one victim, run again once
        with db.session(write=False) as s:
            assert s.execute(text("SELECT sum(n) FROM t_retry")).scalar() == 4
    finally:
        with db.session() as s:
            s.execute(text("DROP TABLE IF EXISTS t_retry"))


def test_other_errors_are_not_retried(pg: Platform) -> None:
    runs = 0
    with pytest.raises(ZeroDivisionError):
        for attempt in pg.db.retrying():
            with attempt:
                runs += 1
                _ = 1 / 0
    assert runs == 1 and not retryable(ZeroDivisionError())
