"""The reaper: jobs whose worker stopped heart-beating go back to the queue (or fail after
too many attempts); queued jobs whose message was lost are enqueued again. Every worker
process runs it; running it twice at once is harmless (conditional updates)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from reelforge.domain.job import WORKER_LOST, EventType, JobStatus
from reelforge.services.admission import wake_all
from reelforge.services.finalize import cancel_waiting, record_final
from reelforge.services.platform import Platform
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    reenqueued: list[str] = field(default_factory=list)
    admitted: list[str] = field(default_factory=list)


def reap(p: Platform) -> ReapReport:
    report = ReapReport()
    now = p.clock()
    cutoff = now - timedelta(seconds=p.settings.heartbeat_timeout)
    with p.db.session(write=False) as s:
        stale = [(j.id, j.attempt) for j in repo.stale_running_jobs(s, cutoff)]
    for job_id, attempt in stale:
        _reap_stale(p, job_id, attempt, report)

    # A waiting job with a cancel request is never claimed (nor would re-enqueueing it help):
    # left so by a worker of an older version or a crash between the two; end it now.
    with p.db.session(write=False) as s:
        doomed = [j.id for j in repo.cancel_requested_waiting_jobs(s)]
    for job_id in doomed:
        with p.db.session() as s:
            if cancel_waiting(p, s, job_id, now, by="reaper", only_if_requested=True):
                report.cancelled.append(job_id)

    # Throttled jobs whose account has a free slot (a missed wake-up): admitted now.
    report.admitted = wake_all(p)

    lost_cutoff = now - timedelta(seconds=p.settings.requeue_after)
    with p.db.session(write=False) as s:
        lost = [(j.id, j.queue, j.priority) for j in repo.unclaimed_queued_jobs(s, lost_cutoff)]
    for job_id, queue, priority in lost:
        with p.db.session() as s:
            job = repo.job_for(s, job_id, None)
            if job is None or job.status != JobStatus.QUEUED or job.enqueued_at is None \
                    or job.enqueued_at >= lost_cutoff or job.cancel_requested:
                continue
            job.enqueued_at = now
        p.queue.enqueue(job_id, queue=queue, priority=priority)
        report.reenqueued.append(job_id)
    if stale or lost or doomed or report.admitted:
        log.info("reaper: %s", report)
    return report


def _reap_stale(p: Platform, job_id: str, attempt: int, report: ReapReport) -> None:
    now = p.clock()
    cutoff = now - timedelta(seconds=p.settings.heartbeat_timeout)
    still_stale = [Job.status == "running", Job.heartbeat_at < cutoff]
    enqueue: tuple[str, int] | None = None
    with p.db.session() as s:
        job = repo.job_for(s, job_id, None)
        if job is None:
            return
        values: dict[str, object]
        if job.cancel_requested:
            target, values = JobStatus.CANCELLED, {"finished_at": now}
        elif attempt >= job.max_attempts:
            target, values = JobStatus.FAILED, {
                "finished_at": now, "error_code": WORKER_LOST,
                "error_message": f"the worker running this job stopped responding "
                                 f"{attempt} times; giving up"}
        else:
            target, values = JobStatus.QUEUED, {"worker_id": None, "heartbeat_at": None,
                                                "enqueued_at": now, "progress": 0.0,
                                                "stage": None}
        if not repo.transition(s, job_id, target, attempt=attempt, extra_where=still_stale,
                               **values):
            return
        if target is JobStatus.QUEUED:
            repo.append_event(s, job_id, EventType.REQUEUED,
                              {"status": "queued", "reason": "heartbeat_timeout",
                               "attempt": attempt}, now)
            enqueue = (job.queue, job.priority)
            report.requeued.append(job_id)
        else:
            data: dict[str, object] = {}
            if target is JobStatus.FAILED:
                data["error"] = {"code": values["error_code"], "message": values["error_message"]}
                report.failed.append(job_id)
            else:
                report.cancelled.append(job_id)
            record_final(p, s, job_id, data, now)
    if enqueue is not None:
        p.queue.enqueue(job_id, queue=enqueue[0], priority=enqueue[1])
