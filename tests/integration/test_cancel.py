"""A cancel ends the job as `cancelled` and releases its credits whatever state the job is in
and whoever holds it: queued with no worker, running, handed back by a worker that is shutting
down while the cancel arrives, or left queued with `cancel_requested` by an older version."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.config import Settings
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.jobs import queries
from reelforge.services.jobs.reaper import reap
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage.billing_tables import LedgerTransaction
from reelforge.storage.tables import Job
from reelforge.worker.loop import Worker
from tests.fakes import GradientBackend
from tests.helpers import event_types, wait_for


@pytest.fixture
def p(settings: Settings, backend: GradientBackend) -> Iterator[Platform]:
    """Billed on the free plan (20 credits a day, one job at a time); heartbeats far apart so
    that only the shutdown path (not a heartbeat) can notice a cancel."""
    s = settings.model_copy(
        update={"default_plan": "free", "heartbeat_interval": 30.0, "heartbeat_timeout": 60.0}
    )
    s.worker_queues.append(backend.queue)
    platform = bootstrap(s, backends=[backend])
    yield platform
    platform.close()


def _submit(p: Platform, acct: accounts.AccountRef, **fields: object) -> str:
    body = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient", **fields}
    return str(submit_job(p, acct, SubmitRequest.parse(body)).job["id"])


def _balance(p: Platform, acct: accounts.AccountRef) -> dict[str, int]:
    return customers.me(p, acct)["balance"]  # type: ignore[no-any-return]


def _releases(p: Platform, job_id: str) -> list[str]:
    with p.db.session(write=False) as s:
        return list(
            s.scalars(
                select(LedgerTransaction.kind).where(
                    LedgerTransaction.job_id == job_id, LedgerTransaction.kind == "release"
                )
            )
        )


def _assert_cancelled_and_released(p: Platform, acct: accounts.AccountRef, job_id: str) -> None:
    job = queries.get_job(p, acct, job_id)
    assert (job["status"], job["billing"], job["credits_charged"]) == (
        "cancelled",
        "released",
        0,
    ), job
    assert _balance(p, acct)["held"] == 0
    assert _balance(p, acct)["available"] == 20
    assert _releases(p, job_id) == ["release"]  # exactly one release
    assert event_types(p, acct, job_id).count("cancelled") == 1


def test_a_queued_job_with_no_worker_is_cancelled_at_once(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    job_id = _submit(p, acct)
    assert _balance(p, acct)["held"] == 5
    assert queries.cancel_job(p, acct, job_id)["status"] == "cancelled"
    _assert_cancelled_and_released(p, acct, job_id)
    assert reap(p).reenqueued == []
    # the free plan's one slot is free again
    assert queries.get_job(p, acct, _submit(p, acct))["status"] == "queued"


def test_a_worker_shutting_down_while_a_cancel_arrives_cancels_the_job(
    p: Platform, backend: GradientBackend
) -> None:
    """SIGTERM racing a cancel: the worker hands jobs back on shutdown, but one whose cancel
    was requested ends `cancelled` instead of going back to the queue."""
    backend.frame_delay = 0.05
    acct = accounts.ensure_account(p, "alice")
    job_id = _submit(p, acct, duration=3)
    w = Worker(p, name="w").start()
    try:
        backend.started.wait(10)
        wait_for(lambda: queries.get_job(p, acct, job_id)["progress"] > 0.06)
        assert queries.cancel_job(p, acct, job_id)["status"] == "running"
        w.request_stop(grace=0.0)  # what SIGTERM after the grace period does
        w.join(10)
    finally:
        w.stop()
    _assert_cancelled_and_released(p, acct, job_id)
    assert "requeued" not in event_types(p, acct, job_id)
    assert reap(p).reenqueued == []


def test_a_cancel_after_the_job_was_handed_back_cancels_it_at_once(
    p: Platform, backend: GradientBackend
) -> None:
    backend.frame_delay = 0.05
    acct = accounts.ensure_account(p, "alice")
    job_id = _submit(p, acct, duration=3)
    w = Worker(p, name="w").start()
    backend.started.wait(10)
    wait_for(lambda: queries.get_job(p, acct, job_id)["progress"] > 0.06)
    w.stop(hand_back=True)
    assert queries.get_job(p, acct, job_id)["status"] == "queued"
    assert queries.cancel_job(p, acct, job_id)["status"] == "cancelled"
    _assert_cancelled_and_released(p, acct, job_id)


def test_the_reaper_cancels_a_queued_job_left_with_cancel_requested(p: Platform) -> None:
    """What an older version left behind: queued, cancel requested, credits held. The reaper
    ends it instead of re-enqueueing it forever (no worker would ever claim it)."""
    acct = accounts.ensure_account(p, "alice")
    job_id = _submit(p, acct)
    with p.db.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(cancel_requested=True, enqueued_at=p.clock() - timedelta(hours=1))
        )
    report = reap(p)
    assert report.cancelled == [job_id] and report.reenqueued == []
    _assert_cancelled_and_released(p, acct, job_id)
    # and a worker that still finds its message skips it
    w = Worker(p, name="w").start()
    try:
        wait_for(lambda: p.queue.size("gradient") == 0)
    finally:
        w.stop()
    assert queries.get_job(p, acct, job_id)["status"] == "cancelled"


def test_any_waiting_status_cancels_at_once(p: Platform) -> None:
    """Generic over waiting statuses: a job waiting for a plan slot (`throttled`) too."""
    acct = accounts.ensure_account(p, "alice")
    job_id = _submit(p, acct)
    with p.db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(status="throttled"))
    assert queries.cancel_job(p, acct, job_id)["status"] == "cancelled"
    _assert_cancelled_and_released(p, acct, job_id)


def test_a_job_held_by_our_own_stopped_worker_is_cancelled_without_it(
    p: Platform, backend: GradientBackend
) -> None:
    """What `generate` does after Ctrl-C when its worker is stuck in a long step: the job is
    cancelled now, and the worker's late result is never recorded."""
    backend.frame_delay = 1.5  # one long step between progress checks
    acct = accounts.ensure_account(p, "alice")
    job_id = _submit(p, acct, frames=2)
    w = Worker(p, name="cli").start()
    try:
        backend.started.wait(10)
        wait_for(lambda: queries.get_job(p, acct, job_id)["stage"] == "render")  # in the step
        assert queries.cancel_job(p, acct, job_id)["status"] == "running"
        w.stop(hand_back=True, timeout=0.1)
        assert queries.cancel_job(p, acct, job_id, holder="other:")["status"] == "running"
        assert queries.cancel_job(p, acct, job_id, holder="cli:")["status"] == "cancelled"
        _assert_cancelled_and_released(p, acct, job_id)
    finally:
        w.join(10)
    assert [o.status for o in w.outcomes] == ["lost"]
    _assert_cancelled_and_released(p, acct, job_id)
