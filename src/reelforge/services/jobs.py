"""Queries and cancellation of an account's jobs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reelforge.domain.job import EventType, JobStatus
from reelforge.errors import Conflict, InvalidRequest, NotFound
from reelforge.services.accounts import AccountRef
from reelforge.services.finalize import record_final
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


def cancel_job(p: Platform, account: AccountRef, job_id: str) -> dict[str, Any]:
    """Queued jobs are cancelled at once; running jobs stop at their next progress step.
    Cancelling a cancelled job is a no-op; a succeeded or failed job cannot be cancelled."""
    now = p.clock()
    with p.db.session() as s:
        job = repo.job_for(s, job_id, account.id)
        if job is None:
            raise NotFound(f"no video {job_id}")
        status = JobStatus(job.status)
        waiting = (JobStatus.QUEUED, JobStatus.REVIEW)  # nothing runs: cancelled at once
        if status in waiting and repo.transition(
            s, job_id, JobStatus.CANCELLED, extra_where=[Job.status == str(status)],
            finished_at=now, error_code=None,
        ):
            if status is JobStatus.REVIEW:
                for review in repo.pending_reviews_of(s, job_id):
                    review.status, review.decided_at, review.note = "withdrawn", now, "cancelled"
            record_final(p, s, job_id, {"by": "user"}, now)
        elif status is JobStatus.RUNNING or status is JobStatus.QUEUED:
            # Running (or claimed since we read it): the worker stops at its next step.
            if not job.cancel_requested:
                job.cancel_requested = True
                repo.append_event(s, job_id, EventType.CANCEL_REQUESTED, {"by": "user"}, now)
        elif status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.BLOCKED):
            raise Conflict(f"video {job_id} already {status}; nothing to cancel",
                           code="job_finished")
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
