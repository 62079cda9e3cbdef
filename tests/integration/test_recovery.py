"""Workers die and stop; jobs still complete exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.execution import JobExecutor
from reelforge.services.jobs.reaper import reap
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job
from reelforge.worker.loop import Worker
from tests.fakes import GradientBackend
from tests.helpers import event_types, wait_final, wait_for


def _submit(p: Platform, acct: accounts.AccountRef, **fields: object) -> str:
    body = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient", **fields}
    return str(submit_job(p, acct, SubmitRequest.parse(body)).job["id"])


def _claim_and_die(p: Platform, job_id: str, *, seconds_ago: float) -> int:
    """Simulate a worker that claimed the job and then vanished (no more heartbeats)."""
    assert p.queue.dequeue(["gradient"]) == ("gradient", job_id)
    with p.db.session() as s:
        job = repo.claim_job(s, job_id, "ghost:1", p.clock())
        assert job is not None
        attempt = job.attempt
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(heartbeat_at=p.clock() - timedelta(seconds=seconds_ago))
        )
    return attempt


def test_reaper_requeues_a_dead_workers_job_and_it_completes_once(
    platform: Platform, backend: GradientBackend
) -> None:
    acct = accounts.ensure_account(platform, "alice")
    job_id = _submit(platform, acct)
    ghost_attempt = _claim_and_die(platform, job_id, seconds_ago=60)
    report = reap(platform)
    assert report.requeued == [job_id]
    w = Worker(platform).start()
    try:
        done = wait_final(platform, acct, job_id)
    finally:
        w.stop()
    assert done["status"] == "succeeded" and done["attempt"] == ghost_attempt + 1
    # The ghost wakes up and tries to finish its attempt: nothing is recorded.
    ghost = JobExecutor(platform, "ghost:1")
    with platform.db.session(write=False) as s:
        stale_row = repo.job_for(s, job_id, None)
    assert stale_row is not None
    stale_row.attempt = ghost_attempt
    from reelforge.domain.job import JobStatus

    assert ghost._finish(stale_row, JobStatus.FAILED, code="late", message="late") is False
    final = queries.get_job(platform, acct, job_id)
    assert final["status"] == "succeeded" and final["error"] is None
    types = event_types(platform, acct, job_id)
    assert types.count("succeeded") == 1 and "requeued" in types
    assert backend.generations == 1


def test_reaper_gives_up_after_max_attempts(platform: Platform) -> None:
    acct = accounts.ensure_account(platform, "alice")
    job_id = _submit(platform, acct)
    with platform.db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(attempt=2, max_attempts=3))
    _claim_and_die(platform, job_id, seconds_ago=60)  # attempt 3
    report = reap(platform)
    assert report.failed == [job_id]
    job = queries.get_job(platform, acct, job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "worker_lost"


def test_reaper_cancels_a_dead_job_that_was_being_cancelled(platform: Platform) -> None:
    acct = accounts.ensure_account(platform, "alice")
    job_id = _submit(platform, acct)
    _claim_and_die(platform, job_id, seconds_ago=60)
    assert queries.cancel_job(platform, acct, job_id)["status"] == "running"
    assert reap(platform).cancelled == [job_id]
    assert queries.get_job(platform, acct, job_id)["status"] == "cancelled"


def test_fresh_heartbeats_are_left_alone(platform: Platform) -> None:
    acct = accounts.ensure_account(platform, "alice")
    job_id = _submit(platform, acct)
    _claim_and_die(platform, job_id, seconds_ago=0)
    assert reap(platform).requeued == []
    assert queries.get_job(platform, acct, job_id)["status"] == "running"


def test_lost_queue_message_is_enqueued_again(platform: Platform) -> None:
    acct = accounts.ensure_account(platform, "alice")
    job_id = _submit(platform, acct)
    platform.queue.flush("gradient")  # e.g. a Redis restart without persistence
    with platform.db.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(enqueued_at=platform.clock() - timedelta(hours=1))
        )
    assert reap(platform).reenqueued == [job_id]
    w = Worker(platform).start()
    try:
        assert wait_final(platform, acct, job_id)["status"] == "succeeded"
    finally:
        w.stop()


@pytest.mark.slow
def test_graceful_stop_hands_a_long_job_back(platform: Platform, backend: GradientBackend) -> None:
    backend.frame_delay = 0.05
    acct = accounts.ensure_account(platform, "alice")
    job_id = _submit(platform, acct, duration=10)
    first = Worker(platform, name="first").start()
    backend.started.wait(10)
    wait_for(lambda: queries.get_job(platform, acct, job_id)["progress"] > 0.05)
    first.request_stop(grace=0.0)
    first.join(10)
    assert queries.get_job(platform, acct, job_id)["status"] == "queued"
    backend.frame_delay = 0.0
    second = Worker(platform, name="second").start()
    try:
        done = wait_final(platform, acct, job_id)
    finally:
        second.stop()
    assert done["status"] == "succeeded" and done["attempt"] == 2
    assert "requeued" in event_types(platform, acct, job_id)


def test_graceful_stop_lets_a_short_job_finish(
    platform: Platform, backend: GradientBackend
) -> None:
    backend.frame_delay = 0.01
    acct = accounts.ensure_account(platform, "alice")
    job_id = _submit(platform, acct, duration=2)
    w = Worker(platform).start()
    backend.started.wait(10)
    w.request_stop(grace=30.0)
    w.join(30)
    job = queries.get_job(platform, acct, job_id)
    assert job["status"] == "succeeded" and job["attempt"] == 1
