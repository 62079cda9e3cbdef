"""Bugs the fault-injection suite (tests/e2e/test_faults.py) found, each pinned down here
deterministically on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, select

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.domain.job import JobStatus
from reelforge.services.accounts import accounts
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage import repositories as repo
from reelforge.storage.billing_tables import LedgerTransaction
from reelforge.worker.loop import Worker
from tests.conftest import _truncate_pg, make_settings
from tests.fakes import GradientBackend
from tests.helpers import event_types, wait_final

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_platform(pg_database: str, tmp_path: Path) -> Iterator[Platform]:
    _truncate_pg(pg_database)
    backend = GradientBackend()
    p = bootstrap(
        make_settings(
            tmp_path,
            database_url=pg_database,
            default_plan="premier",
            worker_queues=[backend.queue],
        ),
        backends=[backend],
    )
    yield p
    p.close()


def test_a_connection_dropped_while_the_result_is_recorded_does_not_fail_the_job(
    pg_platform: Platform, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_terminate_backend as the worker commits a rendered job's success: the job used to
    end `failed` with `internal_error` (credits released, the render thrown away); now the
    record is tried again on a fresh connection and the job succeeds once, charged once."""
    p = pg_platform
    acct = accounts.ensure_account(p, "alice")
    armed: list[bool] = []
    recorder: list[int] = []  # the worker thread that records the success
    real_transition = repo.transition

    def transition(s: Any, job_id: str, target: JobStatus, **kw: Any) -> bool:
        if target is JobStatus.SUCCEEDED and not armed:
            armed.append(True)  # the first success record: its commit loses its connection
            recorder.append(threading.get_ident())
        return real_transition(s, job_id, target, **kw)

    def on_commit(conn: Any) -> None:
        if armed == [True] and recorder == [threading.get_ident()]:
            armed.append(False)
            pid = conn.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(pg_database, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    monkeypatch.setattr(repo, "transition", transition)
    event.listen(p.db.engine, "commit", on_commit)
    try:
        job = submit_job(
            p,
            acct,
            SubmitRequest.parse(
                {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}
            ),
        ).job
        w = Worker(p).start()
        try:
            done = wait_final(p, acct, job["id"])
        finally:
            w.stop()
    finally:
        event.remove(p.db.engine, "commit", on_commit)
    assert armed == [True, False]  # the fault did happen
    assert (done["status"], done["billing"]) == ("succeeded", "captured"), done
    assert done["attempt"] == 1 and done["error"] is None
    with p.db.session(write=False) as s:
        kinds = sorted(
            s.scalars(select(LedgerTransaction.kind).where(LedgerTransaction.job_id == job["id"]))
        )
    assert kinds == ["capture", "reserve"]
    assert event_types(p, acct, job["id"]).count("succeeded") == 1


@pytest.mark.slow
def test_a_database_lost_for_longer_than_the_retries_leaves_the_job_to_the_reaper(
    pg_platform: Platform, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every commit of attempt 1's success record loses its connection: the job is not
    failed (`internal_error`, as it was) but left running for the reaper, which runs it again;
    it succeeds once, at attempt 2, charged once."""
    p = pg_platform
    acct = accounts.ensure_account(p, "alice")
    doomed: set[int] = set()  # threads recording attempt 1's success
    drops: list[int] = []
    real_transition = repo.transition

    def transition(s: Any, job_id: str, target: JobStatus, **kw: Any) -> bool:
        if target is JobStatus.SUCCEEDED and kw.get("attempt") == 1:
            doomed.add(threading.get_ident())
        return real_transition(s, job_id, target, **kw)

    def on_commit(conn: Any) -> None:
        if threading.get_ident() in doomed:
            doomed.discard(threading.get_ident())
            drops.append(1)
            pid = conn.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(pg_database, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    monkeypatch.setattr(repo, "transition", transition)
    event.listen(p.db.engine, "commit", on_commit)
    try:
        job = submit_job(
            p,
            acct,
            SubmitRequest.parse(
                {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}
            ),
        ).job
        w = Worker(p).start()
        try:
            done = wait_final(p, acct, job["id"])
        finally:
            w.stop()
    finally:
        event.remove(p.db.engine, "commit", on_commit)
    assert len(drops) >= 5  # every try of attempt 1's record was lost
    assert (done["status"], done["billing"], done["attempt"]) == ("succeeded", "captured", 2)
    with p.db.session(write=False) as s:
        kinds = sorted(
            s.scalars(select(LedgerTransaction.kind).where(LedgerTransaction.job_id == job["id"]))
        )
    assert kinds == ["capture", "reserve"]
    assert event_types(p, acct, job["id"]).count("succeeded") == 1
