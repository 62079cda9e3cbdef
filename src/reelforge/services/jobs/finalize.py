"""What happens, in one transaction, whenever a job reaches a final status — wherever that
happens (worker, cancel, reaper): the event, the webhook, every feature's final hook, and
the wake-up of the account's next throttled job (services.jobs.admission)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.domain.job import STATUS_EVENT, JobStatus
from reelforge.logs import event
from reelforge.services.jobs.admission import lock_slots, wake
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)


def record_final(
    p: Platform,
    s: Session,
    job_id: str,
    data: dict[str, Any],
    now: datetime,
    *,
    webhook: bool = True,
) -> Job:
    """Call right after the conditional UPDATE that made the job final. `webhook=False`:
    no callback (a periodic duty's last resort for a job whose callback cannot be written)."""
    job = repo.job_for(s, job_id, None)
    assert job is not None
    if p.billing is not None:  # first, before any row that refers to the account (deadlock)
        lock_slots(s, job.account_id)
    s.refresh(job)
    status = JobStatus(job.status)
    for hook in p.final_hooks:  # first: the event and webhook carry what they record (credits)
        hook.on_final(s, job, now)
    if job.credits:
        data = {**data, "credits_charged": job.credits_charged}
    repo.append_event(s, job_id, STATUS_EVENT[status], {"status": str(status), **data}, now)
    if webhook and p.final_webhook is not None:  # the outgoing webhooks' port
        p.final_webhook(s, job, now)
    if p.billing is not None:  # a slot of the plan's concurrency may have freed: the next
        wake(p, s, job.account_id, now)  # waiting job of the account is queued, same transaction
    fields: dict[str, Any] = {
        "job": job_id,
        "account": job.account_id,
        "status": str(status),
        "code": job.error_code,
        "by": data.get("by"),
        "attempt": job.attempt,
    }
    # logged once the transaction commits (a rolled-back final status never happened)
    sa_event.listen(s, "after_commit", lambda _s: event(log, "job.final", **fields), once=True)
    return job


def cancel_waiting(
    p: Platform,
    s: Session,
    job_id: str,
    now: datetime,
    *,
    by: str,
    only_if_requested: bool = False,
    status: str | None = None,
) -> bool:
    """Cancel a job that no worker is running — queued, in review, or any other waiting,
    non-final status (so states added later cancel too) — and record it final (the credits
    go back through the final hooks). Conditional: returns False when the job is running or
    already final, or (when given) no longer in `status` or without a cancel request."""
    where = [Job.status != str(JobStatus.RUNNING)]
    if status is not None:
        where.append(Job.status == status)
    if only_if_requested:
        where.append(Job.cancel_requested.is_(True))
    if not repo.transition(
        s,
        job_id,
        JobStatus.CANCELLED,
        extra_where=where,
        finished_at=now,
        error_code=None,
        error_message=None,
    ):
        return False
    for review in repo.pending_reviews_of(s, job_id):
        review.status, review.decided_at, review.note = "withdrawn", now, "cancelled"
    record_final(p, s, job_id, {"by": by}, now)
    return True
