"""The retention sweep takes a page of due jobs per pass (100). Jobs whose sweep keeps failing
must not hold back every other tenant's expired outputs for ever (issue 13: periodic duties
isolate failures per job): a job whose sweep fails is logged once, skipped for a back-off
period, and the pass picks past it; an output whose file cannot be deleted stays due (its file
must still go) and is tried again after the back-off."""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import update

from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.jobs import retention
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job, Upload


def _expired(p: Platform, owner: str, count: int, days_ago: float) -> list[str]:
    acct = accounts.ensure_account(p, owner)
    body = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}
    ids = [str(submit_job(p, acct, SubmitRequest.parse(body)).job["id"]) for _ in range(count)]
    with p.db.session() as s:
        for i, job_id in enumerate(ids):
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(expires_at=p.clock() - timedelta(days=days_ago, seconds=i))
            )
    return ids


def _png() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 20)).save(data, "PNG")
    return data.getvalue()


def _purged(p: Platform, job_id: str) -> bool:
    with p.db.session(write=False) as s:
        job = repo.job_for(s, job_id, None)
        assert job is not None
        return job.purged_at is not None


def _later(p: Platform, monkeypatch: pytest.MonkeyPatch, hours: float) -> None:
    real = p.clock

    def clock() -> datetime:
        return real() + timedelta(hours=hours)

    monkeypatch.setattr(p, "clock", clock)


def test_jobs_whose_sweep_keeps_failing_do_not_hold_back_the_others(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a page of 3 stands for the sweep's 100: as many broken jobs as a page, all due first
    bad = _expired(platform, "alice", 3, days_ago=2)
    [good] = _expired(platform, "bob", 1, days_ago=1)
    real, tries = retention.mark_job_files_removed, []

    def broken(job: Job, now: datetime) -> list[str]:
        if job.id in bad:
            tries.append(job.id)
            raise ValueError(f"cannot sweep {job.id}")
        return real(job, now)

    monkeypatch.setattr(retention, "mark_job_files_removed", broken)
    caplog.set_level(logging.DEBUG)

    assert retention.sweep_expired(platform, limit=3) == [good]  # before: [] on every pass
    assert sorted(tries) == sorted(bad)
    assert retention.sweep_expired(platform, limit=3) == []
    assert len(tries) == 3  # in back-off: not tried again on the next pass
    _later(platform, monkeypatch, hours=2)
    assert retention.sweep_expired(platform, limit=3) == []
    assert len(tries) == 6  # the back-off ran out: tried again
    assert not any(_purged(platform, j) for j in bad) and _purged(platform, good)
    for job_id in bad:  # logged once each (with its traceback), not on every pass
        errors = [r for r in caplog.records if r.levelno >= logging.WARNING and job_id in r.message]
        assert len(errors) == 1, [r.message for r in errors]
        assert errors[0].exc_info is not None


def test_an_output_whose_file_cannot_be_deleted_stays_due_and_is_swept_later(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    [stuck] = _expired(platform, "alice", 1, days_ago=2)
    [other] = _expired(platform, "bob", 1, days_ago=1)
    upload = create_upload(platform, accounts.ensure_account(platform, "alice"), _png(), "a.png")
    key = upload.sha256  # the blob key (content-addressed)
    with platform.db.session() as s:  # a stored blob as the job's output, shared with nothing
        s.execute(update(Upload).where(Upload.id == upload.id).values(deleted_at=platform.clock()))
        s.execute(update(Job).where(Job.id == stuck).values(output_blob=key))
    real, deletes = platform.blobs.delete, []

    def delete(k: str) -> None:
        deletes.append(k)
        if k == key:
            raise PermissionError(f"cannot delete {k}")
        real(k)

    monkeypatch.setattr(platform.blobs, "delete", delete)
    assert retention.sweep_expired(platform) == [other]
    assert deletes == [key]
    assert not _purged(platform, stuck)  # before: marked removed, its file left for good
    assert retention.sweep_expired(platform) == []  # in back-off
    monkeypatch.setattr(platform.blobs, "delete", real)
    _later(platform, monkeypatch, hours=2)
    assert retention.sweep_expired(platform) == [stuck]
    assert _purged(platform, stuck)


def test_a_pass_pages_past_skipped_jobs_that_expired_at_the_same_instant(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = _expired(platform, "alice", 5, days_ago=2)
    [good] = _expired(platform, "bob", 1, days_ago=1)
    with platform.db.session() as s:  # one instant for all five: pages split them by id
        s.execute(
            update(Job).where(Job.id.in_(bad)).values(expires_at=platform.clock() - timedelta(2))
        )
    real = retention.mark_job_files_removed

    def broken(job: Job, now: datetime) -> list[str]:
        if job.id in bad:
            raise ValueError("cannot sweep this one")
        return real(job, now)

    monkeypatch.setattr(retention, "mark_job_files_removed", broken)
    assert retention.sweep_expired(platform, limit=2) == [good]
    assert retention.sweep_expired(platform, limit=2) == []


@pytest.mark.parametrize("stack", ["postgres"])  # SQLite runs one writer at a time
def test_two_workers_sweeping_two_jobs_that_share_a_file_delete_it(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outputs are content-addressed: a result-cache hit shares its file with the first job.
    Two workers sweep the two jobs at once on PostgreSQL (READ COMMITTED): each asks whether
    the file is still needed before the other has committed, each sees the other's job still
    holding it, and both keep it. The file must still go once both are marked removed (it
    stayed for good, past its retention, and no later pass looks at purged jobs)."""
    first, second = _expired(platform, "alice", 2, days_ago=1)
    upload = create_upload(platform, accounts.ensure_account(platform, "alice"), _png(), "a.png")
    key = upload.sha256
    with platform.db.session() as s:  # both jobs' output is this one file, nothing else needs it
        s.execute(update(Upload).where(Upload.id == upload.id).values(deleted_at=platform.clock()))
        s.execute(update(Job).where(Job.id.in_([first, second])).values(output_blob=key))
    now = platform.clock()
    real, other_worker = repo.blob_in_use, []

    def in_use_then_the_other_worker_sweeps(s: object, k: str) -> bool:
        answer = real(s, k)  # type: ignore[arg-type]
        if not other_worker:  # the first worker asked; before it commits, the second sweeps
            other_worker.append(True)
            assert retention._sweep_one(platform, second, now)
        return answer

    monkeypatch.setattr(repo, "blob_in_use", in_use_then_the_other_worker_sweeps)
    assert retention._sweep_one(platform, first, now)
    assert other_worker and _purged(platform, first) and _purged(platform, second)
    assert not platform.blobs.exists(key)  # before: left in the store for good
