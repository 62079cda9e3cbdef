"""Queries and cancellation of an account's jobs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from reelforge.domain.job import EventType, JobStatus
from reelforge.errors import Conflict, InvalidRequest, NotFound
from reelforge.services.accounts import AccountRef
from reelforge.services.finalize import cancel_waiting, record_final
from reelforge.services.platform import Platform
from reelforge.services.views import event_view, job_view
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job

MAX_PAGE = 100


def _load(p: Platform, account: AccountRef, job_id: str) -> Job:
    with p.db.session(write=False) as s:
        job = repo.job_for(s, job_id, account.id)
        if job is None:
            raise NotFound(f"no video {job_id}")
        return job


def get_job(p: Platform, account: AccountRef, job_id: str) -> dict[str, Any]:
    return job_view(_load(p, account, job_id))


def queue_of(p: Platform, account: AccountRef, job_id: str) -> str:
    """The queue (model family) a job waits in: what a worker must serve to run it."""
    return _load(p, account, job_id).queue


def _encode_cursor(job_id: str) -> str:
    return base64.urlsafe_b64encode(job_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("cursor is not one this API returned", code="invalid_cursor",
                             field="cursor") from None
    if not raw.startswith("vid_"):
        raise InvalidRequest("cursor is not one this API returned", code="invalid_cursor",
                             field="cursor")
    return raw


def list_jobs(p: Platform, account: AccountRef, *, status: str | None = None, limit: int = 20,
              cursor: str | None = None) -> dict[str, Any]:
    if status is not None and status not in {s.value for s in JobStatus}:
        raise InvalidRequest(
            f"status must be one of {', '.join(s.value for s in JobStatus)}", field="status")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    before = _decode_cursor(cursor) if cursor else None
    with p.db.session(write=False) as s:
        rows = repo.list_jobs(s, account.id, status=status, limit=limit + 1, before_id=before)
        data = [job_view(j) for j in rows[:limit]]
    next_cursor = _encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return {"object": "list", "data": data, "next_cursor": next_cursor}


def cancel_job(p: Platform, account: AccountRef, job_id: str, *,
               holder: str | None = None) -> dict[str, Any]:
    """Cancel a job whatever its non-final status. A job no worker runs (queued, review, or
    any other waiting status) is cancelled at once and its credits released; a running job
    stops at its next progress step (or is handed in as cancelled if its worker shuts down
    first). Cancelling a cancelled job is a no-op; a succeeded, failed or blocked job cannot
    be cancelled. `holder`: a worker-id prefix of this process's own worker, which has been
    stopped; a job it still holds is cancelled now (its late result is never recorded)."""
    for _ in range(_CANCEL_TRIES):  # the job may change status under us: look again
        now = p.clock()
        with p.db.session() as s:
            job = repo.job_for(s, job_id, account.id)
            if job is None:
                raise NotFound(f"no video {job_id}")
            status = JobStatus(job.status)
            if status is JobStatus.CANCELLED:
                return job_view(job)
            if status.is_final:
                raise Conflict(f"video {job_id} already {status}; nothing to cancel",
                               code="job_finished")
            if status is not JobStatus.RUNNING:
                if cancel_waiting(p, s, job_id, now, by="user", status=str(status)):
                    return _fresh_view(s, job)
                continue
            if holder is not None and (job.worker_id or "").startswith(holder):
                if repo.transition(s, job_id, JobStatus.CANCELLED, attempt=job.attempt,
                                   extra_where=[Job.status == str(status)],
                                   finished_at=now, error_code=None, cancel_requested=True):
                    record_final(p, s, job_id, {"by": "user"}, now)
                    return _fresh_view(s, job)
                continue
            if job.cancel_requested:
                return job_view(job)
            # Conditional: a worker handing the job back at this moment makes it queued, and
            # the next look cancels it at once instead of leaving a request nobody reads.
            asked = s.execute(update(Job).where(Job.id == job_id,
                                                Job.status == str(JobStatus.RUNNING))
                              .values(cancel_requested=True))
            if asked.rowcount == 1:  # type: ignore[attr-defined]
                repo.append_event(s, job_id, EventType.CANCEL_REQUESTED, {"by": "user"}, now)
                return _fresh_view(s, job)
    raise Conflict(f"video {job_id} kept changing status; try the cancel again",
                   code="cancel_conflict")


_CANCEL_TRIES = 5


def _fresh_view(s: Session, job: Job) -> dict[str, Any]:
    s.flush()
    s.refresh(job)
    return job_view(job)


def events_since(p: Platform, account: AccountRef | None, job_id: str,
                 after_seq: int) -> tuple[list[dict[str, Any]], bool]:
    """Events after `after_seq`, and whether the job has reached a final status."""
    with p.db.session(write=False) as s:
        job = repo.job_for(s, job_id, account.id if account else None)
        if job is None:
            raise NotFound(f"no video {job_id}")
        events = [event_view(e) for e in repo.events_after(s, job_id, after_seq)]
        return events, JobStatus(job.status).is_final


@dataclass(frozen=True)
class Content:
    key: str
    size: int
    content_type: str
    filename: str

    def iter_range(self, p: Platform, start: int, end: int) -> Iterator[bytes]:
        return p.blobs.iter_range(self.key, start, end)


def job_content(p: Platform, account: AccountRef, job_id: str, *, poster: bool = False) -> Content:
    """The stored MP4 (or poster JPEG) of a succeeded job."""
    job = _load(p, account, job_id)
    key = job.poster_blob if poster else job.output_blob
    if job.status != JobStatus.SUCCEEDED or not key:
        raise NotFound(f"video {job_id} has no {'poster' if poster else 'content'} "
                       f"(status {job.status})", code="content_not_ready")
    ctype = "image/jpeg" if poster else "video/mp4"
    return Content(key, p.blobs.size(key), ctype, f"{job_id}.{'jpg' if poster else 'mp4'}")
