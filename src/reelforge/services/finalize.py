"""What happens, in one transaction, whenever a job reaches a final status — wherever that
happens (worker, cancel, reaper): the event, the webhook, and every feature's final hook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from reelforge.domain.job import STATUS_EVENT, JobStatus
from reelforge.services.platform import Platform
from reelforge.services.webhooks import queue_final_webhook
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job


def record_final(p: Platform, s: Session, job_id: str, data: dict[str, Any],
                 now: datetime) -> Job:
    """Call right after the conditional UPDATE that made the job final."""
    job = repo.job_for(s, job_id, None)
    assert job is not None
    s.refresh(job)
    status = JobStatus(job.status)
    for hook in p.final_hooks:  # first: the event and webhook carry what they record (credits)
        hook.on_final(s, job, now)
    if job.credits:
        data = {**data, "credits_charged": job.credits_charged}
    repo.append_event(s, job_id, STATUS_EVENT[status], {"status": str(status), **data}, now)
    queue_final_webhook(s, job, now)
    return job
