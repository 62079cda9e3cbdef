"""The reaper: jobs whose worker stopped heart-beating go back to the queue (or fail after
too many attempts); queued jobs whose message was lost are enqueued again. Every worker
process runs it; running it twice at once is harmless (conditional updates). A job that
cannot be handled (its final rows cannot be written, say) is failed with FINALIZE_FAILED and
its credits released, and the pass goes on (services.jobs.periodic): one bad job never stops
recovery for everyone."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from reelforge.app.platform import Platform
from reelforge.domain.job import FINALIZE_FAILED, WORKER_LOST, EventType, JobStatus
from reelforge.logs import event
from reelforge.services.jobs.admission import wake_all
from reelforge.services.jobs.finalize import cancel_waiting, record_final
from reelforge.services.jobs.periodic import isolated
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
        _each_job(
            p, "reap stale job", job_id, report, partial(_reap_stale, p, job_id, attempt, report)
        )

    # A waiting job with a cancel request is never claimed (nor would re-enqueueing it help):
    # left so by a worker of an older version or a crash between the two; end it now.
    with p.db.session(write=False) as s:
        doomed = [j.id for j in repo.cancel_requested_waiting_jobs(s)]
    for job_id in doomed:
        _each_job(
            p, "cancel waiting job", job_id, report, partial(_cancel_doomed, p, job_id, now, report)
        )

    # Throttled jobs whose account has a free slot (a missed wake-up): admitted now.
    isolated("reaper: wake throttled jobs", "accounts", lambda: report.admitted.extend(wake_all(p)))

    lost_cutoff = now - timedelta(seconds=p.settings.requeue_after)
    with p.db.session(write=False) as s:
        lost = [(j.id, j.queue, j.priority) for j in repo.unclaimed_queued_jobs(s, lost_cutoff)]
    for job_id, queue, priority in lost:
        # a message that cannot be sent is tried again on a later pass (the job stays queued)
        isolated(
            "reaper: re-enqueue lost job",
            job_id,
            partial(_reenqueue, p, job_id, queue, priority, lost_cutoff, report),
        )
    if stale or lost or doomed or report.admitted:
        log.info("reaper: %s", report)
    return report


def _each_job(
    p: Platform, duty: str, job_id: str, report: ReapReport, action: Callable[[], object]
) -> None:
    """Run one job's step; if it fails for a reason of its own, fail the job (credits
    released, no webhook) rather than meet the same error on every pass."""
    error = isolated(f"reaper: {duty}", job_id, action)
    if error is not None and fail_unfinishable(p, job_id, error):
        report.failed.append(job_id)


def _cancel_doomed(p: Platform, job_id: str, now: datetime, report: ReapReport) -> None:
    with p.db.session() as s:
        if cancel_waiting(p, s, job_id, now, by="reaper", only_if_requested=True):
            report.cancelled.append(job_id)


def _reenqueue(
    p: Platform, job_id: str, queue: str, priority: int, lost_cutoff: datetime, report: ReapReport
) -> None:
    with p.db.session() as s:
        job = repo.job_for(s, job_id, None)
        if (
            job is None
            or job.status != JobStatus.QUEUED
            or job.enqueued_at is None
            or job.enqueued_at >= lost_cutoff
            or job.cancel_requested
        ):
            return
        job.enqueued_at = p.clock()
    p.queue.enqueue(job_id, queue=queue, priority=priority)
    report.reenqueued.append(job_id)


def _reap_stale(p: Platform, job_id: str, attempt: int, report: ReapReport) -> None:
    now = p.clock()
    cutoff = now - timedelta(seconds=p.settings.heartbeat_timeout)
    still_stale = [Job.status == "running", Job.heartbeat_at < cutoff]
    enqueue: tuple[str, int, str] | None = None  # queue, priority, account
    with p.db.session() as s:
        job = repo.job_for(s, job_id, None)
        if job is None:
            return
        values: dict[str, object]
        if job.cancel_requested:
            target, values = JobStatus.CANCELLED, {"finished_at": now}
        elif attempt >= job.max_attempts:
            target, values = (
                JobStatus.FAILED,
                {
                    "finished_at": now,
                    "error_code": WORKER_LOST,
                    "error_message": f"the worker running this job stopped responding "
                    f"{attempt} times; giving up",
                },
            )
        else:
            target, values = (
                JobStatus.QUEUED,
                {
                    "worker_id": None,
                    "heartbeat_at": None,
                    "enqueued_at": now,
                    "progress": 0.0,
                    "stage": None,
                },
            )
        if not repo.transition(
            s, job_id, target, attempt=attempt, extra_where=still_stale, **values
        ):
            return
        if target is JobStatus.QUEUED:
            repo.append_event(
                s,
                job_id,
                EventType.REQUEUED,
                {"status": "queued", "reason": "heartbeat_timeout", "attempt": attempt},
                now,
            )
            enqueue = (job.queue, job.priority, job.account_id)
            report.requeued.append(job_id)
        else:
            data: dict[str, object] = {}
            if target is JobStatus.FAILED:
                data["error"] = {"code": values["error_code"], "message": values["error_message"]}
                report.failed.append(job_id)
            else:
                report.cancelled.append(job_id)
            record_final(p, s, job_id, data, now)
    if enqueue is not None:  # committed: one line, as the worker's job.end requeued
        event(
            log,
            "job.requeue",
            job=job_id,
            account=enqueue[2],
            status="queued",
            reason="heartbeat_timeout",
            attempt=attempt,
        )
        p.queue.enqueue(job_id, queue=enqueue[0], priority=enqueue[1])


def fail_unfinishable(
    p: Platform, job_id: str, exc: BaseException, *, now: datetime | None = None
) -> bool:
    """Last resort for a job a duty could not record final: failed with FINALIZE_FAILED,
    credits released through the final hooks, no webhook (its row is what usually broke).
    Returns whether this call failed the job; an error here is logged and swallowed."""
    now = now or p.clock()
    message = (
        f"the job could not be finished ({type(exc).__name__}); it was failed and "
        f"its credits released"
    )

    done: list[bool] = []

    def fail() -> None:
        with p.db.session() as s:
            job = repo.job_for(s, job_id, None)
            if job is None or JobStatus(job.status).is_final:
                return  # someone else finished it meanwhile
            if not repo.transition(
                s,
                job_id,
                JobStatus.FAILED,
                extra_where=[Job.status == job.status],
                finished_at=now,
                error_code=FINALIZE_FAILED,
                error_message=message,
            ):
                return
            record_final(
                p,
                s,
                job_id,
                {"error": {"code": FINALIZE_FAILED, "message": message}},
                now,
                webhook=False,
            )
        done.append(True)  # committed

    isolated("finalize fallback", job_id, fail)
    if done:
        log.warning("job %s failed with %s after %s", job_id, FINALIZE_FAILED, type(exc).__name__)
    return bool(done)
