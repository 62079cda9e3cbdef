"""One bad job must not stop the periodic duties for everyone (issue 13 item 1): the reaper,
the webhook dispatcher and the retention sweep isolate a failure to the job or row it
belongs to — logged, that job failed with a clear code and its credits released — and go on
with the others (other tenants' orphaned jobs are still recovered)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from reelforge.app.platform import Platform
from reelforge.domain.job import FINALIZE_FAILED
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.jobs import queries
from reelforge.services.jobs.reaper import reap
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.notify import deliveries
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job
from tests.fakes import GradientBackend


def _submit(p: Platform, acct: accounts.AccountRef, **fields: object) -> str:
    body = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient", **fields}
    return str(submit_job(p, acct, SubmitRequest.parse(body)).job["id"])


def _orphan(p: Platform, job_id: str, *, attempt: int | None = None) -> None:
    """A job a worker claimed and then vanished with (no more heartbeats)."""
    with p.db.session() as s:
        job = repo.claim_job(s, job_id, "ghost:1", p.clock())
        assert job is not None
        values: dict[str, object] = {"heartbeat_at": p.clock() - timedelta(seconds=60)}
        if attempt is not None:
            values.update(attempt=attempt, max_attempts=attempt)
        s.execute(update(Job).where(Job.id == job_id).values(**values))


def _balance(p: Platform, acct: accounts.AccountRef) -> dict[str, int]:
    return customers.me(p, acct)["balance"]  # type: ignore[no-any-return]


def test_reaper_fails_a_job_whose_finish_breaks_and_recovers_the_others(
    platform: Platform, stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = accounts.ensure_account(platform, "alice")
    bob = accounts.ensure_account(platform, "bob")
    carol = accounts.ensure_account(platform, "carol")
    bad = _submit(platform, alice, callback_url="http://127.0.0.1:9/hook")
    orphan = _submit(platform, bob)
    lost = _submit(platform, carol)
    for _ in range(3):
        platform.queue.dequeue(["gradient"])  # the messages of all three are gone
    _orphan(platform, bad, attempt=3)  # its last attempt: the reaper must finish it
    _orphan(platform, orphan)
    with platform.db.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == lost)
            .values(enqueued_at=platform.clock() - timedelta(hours=1))
        )
    if stack == "postgres":
        # What an older version let in: a NUL in the stored callback_url. PostgreSQL text
        # refuses it when the final webhook row is written.
        with platform.db.session() as s:
            job = repo.job_for(s, bad, None)
            assert job is not None
            s.execute(
                update(Job)
                .where(Job.id == bad)
                .values(spec={**job.spec, "callback_url": "http://127.0.0.1:9/a\u0000b"})
            )
    else:  # SQLite stores a NUL: make that one job's final webhook fail another way
        real = deliveries.queue_final_webhook

        def broken(s: object, job: Job, now: object) -> None:
            if job.id == bad:
                raise ValueError("cannot write this job's webhook row")
            real(s, job, now)  # type: ignore[arg-type]

        monkeypatch.setattr(platform, "final_webhook", broken)  # the pipeline's webhook port
    held_before = _balance(platform, alice)["held"]

    report = reap(platform)  # raised before: nothing after the bad job was recovered

    assert orphan in report.requeued
    assert lost in report.reenqueued
    assert bad in report.failed
    failed = queries.get_job(platform, alice, bad)
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == FINALIZE_FAILED
    assert failed["billing"] == "released"
    assert _balance(platform, alice)["held"] <= held_before
    assert _balance(platform, alice)["held"] == 0
    assert queries.get_job(platform, bob, orphan)["status"] == "queued"
    # A second pass has nothing left to do and raises nothing.
    again = reap(platform)
    assert bad not in again.failed and again.requeued == []


def test_webhook_dispatcher_records_a_broken_delivery_and_sends_the_others(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = accounts.ensure_account(platform, "alice")
    bob = accounts.ensure_account(platform, "bob")
    bad = _submit(platform, alice, callback_url="http://127.0.0.1:9/a")
    good = _submit(platform, bob, callback_url="http://127.0.0.1:9/b")
    for job_id, acct in ((bad, alice), (good, bob)):
        queries.cancel_job(platform, acct, job_id)  # final: each has a delivery row now
    real = deliveries.with_signed_links

    def broken(p: Platform, job_id: str, payload: str) -> str:
        if job_id == bad:
            raise ValueError("this delivery's payload cannot be signed")
        return real(p, job_id, payload)

    monkeypatch.setattr(deliveries, "with_signed_links", broken)
    assert deliveries.deliver_due(platform) == 2  # raised before, leaving the rest unsent
    by_job = {j: deliveries.deliveries_of(platform, j)[0] for j in (bad, good)}
    assert by_job[good]["attempts"]  # tried (nothing listens on port 9: a failed attempt)
    attempts = by_job[bad]["attempts"]
    assert isinstance(attempts, list) and len(attempts) == 1
    assert "ValueError" in str(attempts[0]["error"])
    assert by_job[bad]["status"] == "pending"  # retried with back-off, then given up


def test_retention_sweep_skips_a_broken_job_and_sweeps_the_others(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelforge.services.jobs import retention

    acct = accounts.ensure_account(platform, "alice")
    first, second = _submit(platform, acct), _submit(platform, acct)
    with platform.db.session() as s:
        s.execute(
            update(Job)
            .where(Job.id.in_([first, second]))
            .values(expires_at=platform.clock() - timedelta(days=1))
        )
    real = retention.mark_job_files_removed

    def broken(job: Job, now: object) -> list[str]:
        if job.id == first:
            raise ValueError("cannot mark this one")
        return real(job, now)  # type: ignore[arg-type]

    monkeypatch.setattr(retention, "mark_job_files_removed", broken)
    assert retention.sweep_expired(platform) == [second]


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_the_reported_case_end_to_end_on_postgresql(platform: Platform) -> None:
    """The red-team case: a NUL in a stored callback_url (as an older version let in) breaks
    the job's finish on PostgreSQL; the worker's own fallback fails the same way. The job
    must still end — failed with finalize_failed, credits released — and another tenant's
    job must still run, with the worker's reaper running all along."""
    from reelforge.worker.loop import Worker
    from tests.helpers import wait_final

    alice = accounts.ensure_account(platform, "alice")
    bob = accounts.ensure_account(platform, "bob")
    bad = _submit(platform, alice, callback_url="http://127.0.0.1:9/hook")
    with platform.db.session() as s:
        job = repo.job_for(s, bad, None)
        assert job is not None
        s.execute(
            update(Job)
            .where(Job.id == bad)
            .values(  # one attempt: a faster test
                spec={**job.spec, "callback_url": "http://127.0.0.1:9/a\u0000b"}, max_attempts=1
            )
        )
    w = Worker(platform).start()
    try:
        failed = wait_final(platform, alice, bad, timeout=60)
        good = _submit(platform, bob)
        assert wait_final(platform, bob, good, timeout=30)["status"] == "succeeded"
    finally:
        w.stop()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == FINALIZE_FAILED
    assert _balance(platform, alice)["held"] == 0


@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_the_worker_fails_a_job_it_cannot_record_final_instead_of_rendering_it_again(
    platform: Platform, backend: GradientBackend
) -> None:
    """The red-team case as reported (three attempts allowed): the worker's final write
    breaks on this job's own data (a NUL in its stored callback_url). It is not an outage, so
    the worker fails the job with finalize_failed at once — credits released, no webhook —
    rather than leaving it running for the reaper to re-render at attempts 2 and 3."""
    from reelforge.worker.loop import Worker
    from tests.helpers import wait_final

    alice = accounts.ensure_account(platform, "alice")
    bad = _submit(platform, alice, callback_url="http://127.0.0.1:9/hook")
    with platform.db.session() as s:
        job = repo.job_for(s, bad, None)
        assert job is not None and job.max_attempts == 3
        s.execute(
            update(Job)
            .where(Job.id == bad)
            .values(spec={**job.spec, "callback_url": "http://127.0.0.1:9/a\u0000b"})
        )
    w = Worker(platform).start()
    try:
        failed = wait_final(platform, alice, bad, timeout=60)
    finally:
        w.stop()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == FINALIZE_FAILED
    assert failed["billing"] == "released"
    assert _balance(platform, alice)["held"] == 0
    assert backend.generations == 1  # before: rendered again at attempts 2 and 3
    with platform.db.session(write=False) as s:
        job = repo.job_for(s, bad, None)
        assert job is not None and job.attempt == 1
    assert deliveries.deliveries_of(platform, bad) == []


def test_moderation_reaper_fails_a_job_it_cannot_recover_and_recovers_the_others(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The moderation reaper (guard-model checks whose worker vanished) is a periodic duty
    too: a job it cannot recover is failed with finalize_failed and its credits released —
    not logged with a traceback on every pass while it stays `moderating` with its credits
    held — and the other tenants' checks are still recovered."""
    from reelforge.domain.job import EventType, JobStatus
    from reelforge.services.governance import guard_tasks

    alice = accounts.ensure_account(platform, "alice")
    bob = accounts.ensure_account(platform, "bob")
    bad, good = _submit(platform, alice), _submit(platform, bob)
    with platform.db.session() as s:  # two guard checks whose worker vanished
        s.execute(
            update(Job)
            .where(Job.id.in_([bad, good]))
            .values(
                status=str(JobStatus.MODERATING),
                worker_id="ghost:1",
                attempt=1,
                heartbeat_at=platform.clock() - timedelta(seconds=60),
            )
        )
    real = repo.append_event

    def broken(s: object, job_id: str, kind: EventType, *args: object, **kw: object) -> object:
        if job_id == bad and kind is EventType.REQUEUED:
            raise ValueError("cannot write this job's requeued event")
        return real(s, job_id, kind, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "append_event", broken)
    held_before = _balance(platform, alice)["held"]
    assert held_before > 0

    report = guard_tasks.reap_moderating(platform)

    assert report.requeued == [good]
    failed = queries.get_job(platform, alice, bad)
    assert failed["status"] == "failed"  # before: logged, left moderating, credits held
    assert report.failed == [bad]
    assert failed["error"]["code"] == FINALIZE_FAILED
    assert failed["billing"] == "released"
    assert _balance(platform, alice)["held"] == 0
    again = guard_tasks.reap_moderating(platform)
    assert again.failed == [] and again.requeued == []


def test_reaper_wakes_throttled_jobs_of_the_other_accounts_when_one_account_fails(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reaper's wake-up of throttled jobs handles each account on its own: an error
    while admitting one account's jobs is logged and the other accounts' jobs are still
    admitted (before, the first error ended the wake-up for every account, on every pass)."""
    from reelforge.domain.job import JobStatus
    from reelforge.services.jobs import admission

    alice = accounts.ensure_account(platform, "alice")
    bob = accounts.ensure_account(platform, "bob")
    jobs = {_submit(platform, alice), _submit(platform, bob)}
    for _ in range(2):
        platform.queue.dequeue(["gradient"])
    with platform.db.session() as s:  # both waiting for a slot; their wake-up was missed
        s.execute(update(Job).where(Job.id.in_(jobs)).values(status=str(JobStatus.THROTTLED)))
    real, calls = admission.wake, []

    def broken(p: Platform, s: object, account_id: str, now: object) -> list[str]:
        calls.append(account_id)
        if len(calls) == 1:  # whichever account comes first
            raise ValueError("cannot admit this account's jobs")
        return real(p, s, account_id, now)  # type: ignore[arg-type]

    monkeypatch.setattr(admission, "wake", broken)
    report = reap(platform)
    assert len(calls) == 2
    assert len(report.admitted) == 1 and report.admitted[0] in jobs
