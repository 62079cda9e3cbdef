"""Queries and cancellation of an account's jobs."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.atomic import atomic_writer
from reelforge.domain.account import AccountRef
from reelforge.domain.job import FINALIZING, EventType, JobStatus
from reelforge.errors import Conflict, InvalidRequest, NotFound
from reelforge.logs import event
from reelforge.services.jobs.delivery import OutputLinks, output_unavailable, verified_size
from reelforge.services.jobs.edge import check_text, has_control
from reelforge.services.jobs.finalize import cancel_waiting, record_final
from reelforge.services.jobs.retention import mark_job_files_removed, remove_unused_blobs
from reelforge.services.jobs.views import event_view, job_view
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)
MAX_PAGE = 100
MAX_EXTERNAL_ID = 128
MAX_ID = 40


def _known_id(job_id: str) -> str:
    """An id as it could exist (PostgreSQL refuses NUL in a query: that would be a 500)."""
    if len(job_id) > MAX_ID or has_control(job_id):
        raise NotFound(f"no video {job_id[:MAX_ID]!r}")
    return job_id


def _load(p: Platform, account: AccountRef, job_id: str) -> Job:
    _known_id(job_id)
    with p.db.session(write=False) as s:
        job = repo.job_for(s, job_id, account.id)
        if job is None:
            raise NotFound(f"no video {job_id}")
        return job


def get_job(p: Platform, account: AccountRef, job_id: str) -> dict[str, Any]:
    """The job object, its output URLs absolute, signed and expiring."""
    return job_view(_load(p, account, job_id), OutputLinks.for_platform(p))


def queue_of(p: Platform, account: AccountRef, job_id: str) -> str:
    """The queue (model family) a job waits in: what a worker must serve to run it."""
    return _load(p, account, job_id).queue


def _encode_cursor(job_id: str) -> str:
    return base64.urlsafe_b64encode(job_id.encode()).decode().rstrip("=")


def cursor_after(job_id: str) -> str:
    """The `list_jobs` cursor of the page after job `job_id` (the older jobs)."""
    return _encode_cursor(job_id)


def _decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest(
            "cursor is not one this API returned", code="invalid_cursor", field="cursor"
        ) from None
    if not raw.startswith("vid_"):
        raise InvalidRequest(
            "cursor is not one this API returned", code="invalid_cursor", field="cursor"
        )
    return raw


def list_jobs(
    p: Platform,
    account: AccountRef,
    *,
    status: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
    external_id: str | None = None,
) -> dict[str, Any]:
    """Newest first, a page at a time; `external_id` finds the job a client id names."""
    if external_id is not None:
        check_text(external_id, "external_id", MAX_EXTERNAL_ID)
    if status is not None and status not in {s.value for s in JobStatus}:
        raise InvalidRequest(
            f"status must be one of {', '.join(s.value for s in JobStatus)}", field="status"
        )
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    before = _decode_cursor(cursor) if cursor else None
    links = OutputLinks.for_platform(p)
    with p.db.session(write=False) as s:
        rows = repo.list_jobs(
            s, account.id, status=status, limit=limit + 1, before_id=before, external_id=external_id
        )
        data = [job_view(j, links) for j in rows[:limit]]
    next_cursor = _encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return {"object": "list", "data": data, "next_cursor": next_cursor}


def cancel_job(
    p: Platform, account: AccountRef, job_id: str, *, holder: str | None = None
) -> dict[str, Any]:
    """Cancel a job whatever its non-final status. A job no worker runs (queued, review, or
    any other waiting status) is cancelled at once and its credits released; a running job
    stops at its next progress step (or is handed in as cancelled if its worker shuts down
    first). Once its worker is finalizing the output (stage `finalizing`: labelling,
    storing, recording) the cancel is refused, 409 `too_late` — never accepted and then
    charged. Cancelling a cancelled job is a no-op; a succeeded, failed or blocked job
    cannot be cancelled. `holder`: a worker-id prefix of this process's own worker, which has been
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
                raise Conflict(
                    f"video {job_id} already {status}; nothing to cancel", code="job_finished"
                )
            if status is not JobStatus.RUNNING:
                if cancel_waiting(p, s, job_id, now, by="user", status=str(status)):
                    return _fresh_view(s, job)
                continue
            if holder is not None and (job.worker_id or "").startswith(holder):
                if repo.transition(
                    s,
                    job_id,
                    JobStatus.CANCELLED,
                    attempt=job.attempt,
                    extra_where=[Job.status == str(status)],
                    finished_at=now,
                    error_code=None,
                    cancel_requested=True,
                ):
                    record_final(p, s, job_id, {"by": "user"}, now)
                    return _fresh_view(s, job)
                continue
            if job.cancel_requested:
                return job_view(job)
            if job.stage == FINALIZING:
                raise _too_late(job_id)
            # Conditional: a worker handing the job back at this moment makes it queued, and
            # the next look cancels it at once instead of leaving a request nobody reads; a
            # worker that has just started finalizing the output (execution) refuses it.
            asked = s.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status == str(JobStatus.RUNNING),
                    or_(Job.stage.is_(None), Job.stage != FINALIZING),
                )
                .values(cancel_requested=True)
            )
            if asked.rowcount == 1:  # type: ignore[attr-defined]
                repo.append_event(s, job_id, EventType.CANCEL_REQUESTED, {"by": "user"}, now)
                event(
                    log,
                    "job.cancel_requested",
                    job=job_id,
                    account=account.id,
                    status=str(status),
                    worker=job.worker_id,
                )
                return _fresh_view(s, job)
    raise Conflict(
        f"video {job_id} kept changing status; try the cancel again", code="cancel_conflict"
    )


_CANCEL_TRIES = 5


def _too_late(job_id: str) -> Conflict:
    return Conflict(
        f"video {job_id} is already being finalized (its output is being "
        "labelled and stored); it can no longer be cancelled and will finish",
        code="too_late",
    )


def _fresh_view(s: Session, job: Job) -> dict[str, Any]:
    s.flush()
    s.refresh(job)
    return job_view(job)


def events_since(
    p: Platform, account: AccountRef | None, job_id: str, after_seq: int
) -> tuple[list[dict[str, Any]], bool]:
    """Events after `after_seq`, and whether the job has reached a final status."""
    with p.db.session(write=False) as s:
        job = repo.job_for(s, job_id, account.id if account else None)
        if job is None:
            raise NotFound(f"no video {job_id}")
        events = [event_view(e) for e in repo.events_after(s, job_id, after_seq)]
        return events, JobStatus(job.status).is_final


def event_heads(p: Platform, job_ids: list[str]) -> dict[str, int]:
    """The latest event seq of each job (one indexed query for any number of jobs; a job
    that no longer exists is left out). Event streams poll this, not events_since."""
    with p.db.session(write=False) as s:
        return {
            job_id: int(seq)
            for job_id, seq in s.execute(select(Job.id, Job.event_seq).where(Job.id.in_(job_ids)))
        }


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
        raise NotFound(
            f"video {job_id} has no {'poster' if poster else 'content'} (status {job.status})",
            code="content_not_ready",
        )
    if (
        job.deleted_at is not None
        or job.purged_at is not None
        or (job.expires_at is not None and job.expires_at <= p.clock())
    ):
        raise NotFound(
            f"the output of video {job_id} was removed "
            f"({'deleted' if job.deleted_at else 'retention ran out'})",
            code="content_deleted",
        )
    ctype = "image/jpeg" if poster else "video/mp4"
    size = verified_size(p, job_id, key, job.output_damage, what="poster" if poster else "output")
    return Content(key, size, ctype, f"{job_id}.{'jpg' if poster else 'mp4'}")


def delete_job(p: Platform, account: AccountRef, job_id: str) -> dict[str, Any]:
    """Remove a job's output files; the row stays, marked `deleted` (the ledger, the audit
    log and usage reports keep reading it). A job no worker runs yet is cancelled first (its
    credits released); a running job is refused (`job_running`): cancel it, then delete.
    Deleting a deleted job returns it again."""
    _known_id(job_id)
    links = OutputLinks.for_platform(p)  # outside the transaction (it may read the key)
    now = p.clock()
    with p.db.session() as s:
        job = repo.job_for(s, job_id, account.id)
        if job is None:
            raise NotFound(f"no video {job_id}")
        if job.deleted_at is not None:
            return job_view(job, links)
        status = JobStatus(job.status)
        if status is JobStatus.RUNNING:
            raise Conflict(
                f"video {job_id} is running; cancel it first (POST /v1/videos/"
                f"{job_id}/cancel), then delete it once it is cancelled",
                code="job_running",
            )
        if not status.is_final and not cancel_waiting(
            p, s, job_id, now, by="user", status=str(status)
        ):
            raise Conflict(
                f"video {job_id} just started running; cancel it first, then delete it",
                code="job_running",
            )
        s.refresh(job)
        job.deleted_at = now
        keys = mark_job_files_removed(job, now)
        repo.record_audit(
            s,
            now,
            actor=f"account:{account.id}",
            action="video.delete",
            account_id=account.id,
            subject=job_id,
            data={"status": job.status, "blobs": keys},
        )
        s.flush()
        view = job_view(job, links)
    event(log, "job.delete", job=job_id, account=account.id, status=view["status"], files=len(keys))
    remove_unused_blobs(p, keys)
    return view


def save_content(
    p: Platform,
    account: AccountRef,
    job_id: str,
    dest: Path,
    *,
    poster: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Content:
    """Write a succeeded job's MP4 (or poster) to `dest` atomically: the whole file or none,
    and only the bytes the job stored (hashed while written: a mismatch leaves no file and
    raises `output_damaged`). `on_start(size)` and `on_chunk(n)` report progress."""
    content = job_content(p, account, job_id, poster=poster)
    digest = hashlib.sha256()
    if on_start is not None:
        on_start(content.size)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(dest, mode=0o600, fsync=True) as fh:
        if content.size:
            for chunk in content.iter_range(p, 0, content.size - 1):
                digest.update(chunk)
                fh.write(chunk)
                if on_chunk is not None:
                    on_chunk(len(chunk))
        if digest.hexdigest() != content.key:  # the key is the SHA-256 of the stored bytes
            raise output_unavailable(job_id, "hash_mismatch", "poster" if poster else "output")
    return content
