"""Human review: jobs the policy held (at submit or on the output) and blocked jobs a user
appealed wait in one queue; a reviewer approves or rejects each. Waiting time is tracked
(`waiting_seconds`), and every step goes to the audit log."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.job import CONTENT_BLOCKED, EventType, JobStatus, new_id
from reelforge.errors import Conflict, InvalidRequest, NotFound
from reelforge.logs import event
from reelforge.services.governance import audit
from reelforge.services.jobs.admission import admit_existing
from reelforge.services.jobs.finalize import record_final
from reelforge.services.jobs.views import job_view
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job, Review

log = logging.getLogger(__name__)

STATUSES = ("pending", "approved", "rejected", "withdrawn")
MAX_NOTE = 2000


def open_review(
    s: Session,
    job: Job,
    *,
    kind: str,
    stage: str,
    categories: list[str],
    now: datetime,
    message: str | None = None,
) -> Review:
    """Within the caller's transaction: a pending review of `job` and its event."""
    review = Review(
        id=new_id("rev"),
        job_id=job.id,
        account_id=job.account_id,
        kind=kind,
        stage=stage,
        status="pending",
        categories=categories,
        message=message,
        created_at=now,
    )
    s.add(review)
    repo.append_event(
        s,
        job.id,
        EventType.REVIEW_REQUESTED,
        {"status": "review", "kind": kind, "review_id": review.id},
        now,
    )
    return review


def review_view(r: Review, now: datetime) -> dict[str, Any]:
    end = r.decided_at or now
    return {
        "id": r.id,
        "object": "review",
        "job_id": r.job_id,
        "account_id": r.account_id,
        "kind": r.kind,
        "stage": r.stage,
        "status": r.status,
        "categories": r.categories,
        "message": r.message,
        "created_at": r.created_at.isoformat(),
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "waiting_seconds": round((end - r.created_at).total_seconds(), 3),
        "reviewer": r.reviewer,
        "note": r.note,
    }


def list_reviews(
    p: Platform, status: str | None = "pending", limit: int = 100
) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}", field="status")
    now = p.clock()
    with p.db.session(write=False) as s:
        q = select(Review).order_by(Review.created_at).limit(limit)
        if status is not None:
            q = q.where(Review.status == status)
        return [review_view(r, now) for r in s.scalars(q)]


def _pending(s: Session, review_id: str) -> tuple[Review, Job]:
    review = s.get(Review, review_id)
    if review is None:
        raise NotFound(f"no review {review_id}", code="review_not_found")
    if review.status != "pending":
        raise Conflict(f"review {review_id} is already {review.status}", code="review_decided")
    job = repo.job_for(s, review.job_id, None)
    assert job is not None
    return review, job


def decide(
    p: Platform, review_id: str, *, approve: bool, reviewer: AccountRef, note: str | None = None
) -> dict[str, Any]:
    """Approve (the job runs, or its held output is released) or reject (blocked)."""
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidRequest(f"note is limited to {MAX_NOTE} characters", field="note")
    now = p.clock()
    enqueue: Job | None = None
    with p.db.session() as s:
        review, job = _pending(s, review_id)
        review.status = "approved" if approve else "rejected"
        review.decided_at, review.reviewer, review.note = now, reviewer.name or reviewer.id, note
        where = [Job.status == "review"]
        if not approve:
            won = repo.transition(
                s,
                job.id,
                JobStatus.BLOCKED,
                extra_where=where,
                finished_at=now,
                error_code=CONTENT_BLOCKED,
                error_message="a reviewer upheld the content policy",
            )
            if won:
                record_final(p, s, job.id, {"by": "reviewer"}, now)
        elif review.stage == "output":  # the held file is released as it is
            won = repo.transition(
                s,
                job.id,
                JobStatus.SUCCEEDED,
                extra_where=where,
                finished_at=now,
                error_code=None,
                error_message=None,
            )
            if won:
                record_final(p, s, job.id, {"by": "reviewer"}, now)
        else:  # nothing ran yet: to the queue now, or waiting for a slot of the plan
            target = admit_existing(p, s, job.account_id, now)
            won = repo.transition(
                s,
                job.id,
                target,
                extra_where=where,
                enqueued_at=now if target is JobStatus.QUEUED else None,
                finished_at=None,
                error_code=None,
                error_message=None,
            )
            if won:
                repo.append_event(
                    s,
                    job.id,
                    EventType.APPROVED,
                    {"status": str(target), "review_id": review.id},
                    now,
                )
                enqueue = job if target is JobStatus.QUEUED else None
        if not won:
            raise Conflict(f"job {job.id} is no longer waiting for review", code="invalid_state")
        audit.record(
            s,
            now,
            actor=f"reviewer:{reviewer.id}",
            action="review.approve" if approve else "review.reject",
            account_id=job.account_id,
            subject=job.id,
            data={
                "review_id": review.id,
                "kind": review.kind,
                "stage": review.stage,
                "reviewer": reviewer.name or reviewer.id,
                "note": note,
                "waiting_seconds": (now - review.created_at).total_seconds(),
            },
        )
        s.flush()
        view = review_view(review, now)
        queue, priority = job.queue, job.priority
    event(
        log,
        "job.review",
        job=job.id,
        account=job.account_id,
        status="approved" if approve else "rejected",
        stage=review.stage,
        review=review.id,
    )
    if enqueue is not None:
        p.queue.enqueue(enqueue.id, queue=queue, priority=priority)
    return view


def appeal(p: Platform, account: AccountRef, job_id: str, message: str) -> dict[str, Any]:
    """A user asks a person to look at a blocked job again."""
    message = (message or "").strip()
    if not message or len(message) > MAX_NOTE:
        raise InvalidRequest(f"say why in 1-{MAX_NOTE} characters", field="message")
    now = p.clock()
    with p.db.session() as s:
        job = repo.job_for(s, job_id, account.id)
        if job is None:
            raise NotFound(f"no video {job_id}")
        if job.status != JobStatus.BLOCKED:
            raise Conflict(
                f"video {job_id} is {job.status}; only blocked videos can be appealed",
                code="not_blocked",
            )
        stage = "output" if (job.moderation or {}).get("output") else "submit"
        categories = ((job.moderation or {}).get(stage) or {}).get("categories", [])
        won = repo.transition(
            s, job.id, JobStatus.REVIEW, extra_where=[Job.status == "blocked"], finished_at=None
        )
        if not won:
            raise Conflict(f"video {job_id} changed meanwhile; try again", code="invalid_state")
        review = open_review(
            s, job, kind="appeal", stage=stage, categories=categories, now=now, message=message
        )
        review_id = review.id
        audit.record(
            s,
            now,
            actor=f"account:{account.id}",
            action="appeal",
            account_id=account.id,
            subject=job.id,
            data={"review_id": review.id, "message": message},
        )
        s.flush()
        s.refresh(job)
        view = job_view(job)
    event(
        log,
        "job.appeal",
        job=job_id,
        account=account.id,
        status="review",
        stage=stage,
        review=review_id,
    )
    return view
