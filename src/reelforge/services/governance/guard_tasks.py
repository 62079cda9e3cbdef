"""The moderation task: a request the profile routes to a guard model waits in status
`moderating`, and a message with its job id waits on the `moderation` queue. A worker that
serves that queue (on CPU, or on a GPU next to the guard) claims the job, asks the guard, and
moves the job on in one transaction:

* allowed → queued (the generation job is enqueued now, not before) or throttled;
* review → review, with a pending review (a person decides before anything runs);
* blocked → blocked, recorded final (the credits reserved at submit are released).

Nothing of the generation runs before the guard has answered: the generation message is only
sent by this task. The claim is a conditional UPDATE (worker id, heartbeat, attempt) kept
alive by a heartbeat while the guard runs; `reap_moderating` (every worker's background
duties) gives a claim whose heartbeat stopped back to the queue — a guard worker killed
mid-check — and after `max_attempts` such losses holds the job for review instead (a guard
that keeps dying must not let anything through). Lost messages are sent again.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import select, update

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.job import (
    CONTENT_BLOCKED,
    MODERATION_QUEUE,
    EventType,
    JobStatus,
    blocked_message,
)
from reelforge.domain.spec import JobSpec
from reelforge.governance.signals import Action, Decision
from reelforge.logs import event
from reelforge.services.governance import audit
from reelforge.services.governance.moderation import Moderation, decision_detail
from reelforge.services.governance.reviews import open_review
from reelforge.services.jobs.admission import admit_existing
from reelforge.services.jobs.finalize import record_final
from reelforge.services.jobs.periodic import isolated
from reelforge.services.jobs.reaper import fail_unfinishable
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)
_MODERATING = str(JobStatus.MODERATING)


def claim(p: Platform, job_id: str, worker_id: str) -> int | None:
    """moderating (unclaimed) → claimed by ``worker_id``; the attempt it runs as, or None
    when someone else has it, it was cancelled, or it is no longer moderating."""
    now = p.clock()
    with p.db.session() as s:
        result = s.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.status == _MODERATING,
                Job.worker_id.is_(None),
                Job.cancel_requested.is_(False),
            )
            .values(worker_id=worker_id, heartbeat_at=now, attempt=Job.attempt + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        attempt = s.scalar(select(Job.attempt).where(Job.id == job_id))
    return int(attempt or 0)


def _beat(p: Platform, job_id: str, worker_id: str) -> None:
    with p.db.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == _MODERATING, Job.worker_id == worker_id)
            .values(heartbeat_at=p.clock())
        )


@dataclass
class TaskOutcome:
    job_id: str
    status: str  # queued, throttled, review, blocked; "skipped" when not claimed
    guard: str | None = None
    parsed: bool | None = None


def run_guard_task(p: Platform, job_id: str, worker_id: str) -> TaskOutcome:
    """Claim a moderating job, ask the guard, move the job on (see the module docstring)."""
    attempt = claim(p, job_id, worker_id)
    if attempt is None:
        return TaskOutcome(job_id, "skipped")
    moderation = p.moderation
    if not isinstance(moderation, Moderation):  # no policy loaded here: hold it for a person
        return _finish(p, job_id, worker_id, attempt, None, None)
    with p.db.session(write=False) as s:
        job = repo.job_for(s, job_id, None)
        assert job is not None
        spec = JobSpec.model_validate(job.spec)
        account = AccountRef(job.account_id, "")
    stop = threading.Event()

    def beat() -> None:  # the reaper reads a stopped heartbeat as a lost guard worker
        while not stop.wait(p.settings.heartbeat_interval):
            try:
                _beat(p, job_id, worker_id)
            except Exception:  # the database away for a moment: the next beat retries
                log.warning("moderation heartbeat of %s failed", job_id, exc_info=True)

    beating = threading.Thread(target=beat, name="reelforge-guard-beat", daemon=True)
    beating.start()
    try:
        with tempfile.TemporaryDirectory(prefix="reelforge-guard-") as tmp:
            decision, verdict = moderation.check_with_guard(account, spec, Path(tmp))
    finally:
        stop.set()
        beating.join()
    return _finish(p, job_id, worker_id, attempt, decision, verdict)


def _finish(
    p: Platform,
    job_id: str,
    worker_id: str,
    attempt: int,
    decision: Decision | None,
    verdict: object | None,
) -> TaskOutcome:
    now = p.clock()
    action = decision.decision if decision is not None else Action.REVIEW
    ours = [Job.status == _MODERATING, Job.worker_id == worker_id, Job.attempt == attempt]
    enqueue: tuple[str, int] | None = None
    released = {"worker_id": None, "heartbeat_at": None}
    with p.db.session() as s:
        job = repo.job_for(s, job_id, None)
        if job is None:
            return TaskOutcome(job_id, "skipped")
        categories = decision.categories if decision is not None else []
        if action is Action.BLOCK:
            message = blocked_message(job_id, categories)
            won = repo.transition(
                s,
                job_id,
                JobStatus.BLOCKED,
                extra_where=ours,
                finished_at=now,
                error_code=CONTENT_BLOCKED,
                error_message=message,
                **released,
            )
            target = JobStatus.BLOCKED
        elif action is Action.REVIEW:
            target = JobStatus.REVIEW
            won = repo.transition(s, job_id, target, extra_where=ours, **released)
        else:
            target = admit_existing(p, s, job.account_id, now)
            won = repo.transition(
                s,
                job_id,
                target,
                extra_where=ours,
                enqueued_at=now if target is JobStatus.QUEUED else None,
                **released,
            )
        if not won:  # cancelled meanwhile, or the reaper gave the claim to another worker
            return TaskOutcome(job_id, "skipped")
        # the moderation attempts are not the generation's (the reaper counts those)
        s.execute(update(Job).where(Job.id == job_id).values(attempt=0))
        s.refresh(job)
        shown = decision.public() if decision is not None else {"decision": "review"}
        job.moderation = {**(job.moderation or {}), "guard": shown}
        audit.record(
            s,
            now,
            actor=f"guard:{getattr(verdict, 'name', None) or 'task'}",
            action="moderation.guard",
            account_id=job.account_id,
            subject=job_id,
            decision=decision.to_dict() if decision is not None else None,
            data={
                **(decision_detail(decision) if decision is not None else {}),
                "worker": worker_id,
                "verdict": _verdict_view(verdict),
            },
        )
        if target is JobStatus.BLOCKED:
            record_final(
                p,
                s,
                job_id,
                {"error": {"code": CONTENT_BLOCKED, "message": job.error_message}},
                now,
            )
        elif target is JobStatus.REVIEW:
            open_review(s, job, kind="policy", stage="submit", categories=categories, now=now)
        else:
            repo.append_event(s, job_id, EventType.MODERATED, {"status": str(target)}, now)
            if target is JobStatus.QUEUED:
                enqueue = (job.queue, job.priority)
        s.flush()
    event(log, "job.moderated", job=job_id, status=str(target), worker=worker_id)
    if enqueue is not None:
        try:
            p.queue.enqueue(job_id, queue=enqueue[0], priority=enqueue[1])
        except Exception:  # the job is queued in the database; the reaper sends it later
            log.exception("enqueue of %s failed; the reaper will retry", job_id)
    return TaskOutcome(
        job_id, str(target), getattr(verdict, "name", None), getattr(verdict, "parsed", None)
    )


def _verdict_view(verdict: object | None) -> dict[str, object] | None:
    if verdict is None:
        return None
    return {
        "guard": getattr(verdict, "name", None),
        "parsed": getattr(verdict, "parsed", None),
        "raw": getattr(verdict, "raw", None),
        "error": getattr(verdict, "error", None),
    }


@dataclass
class ModerationReapReport:
    requeued: list[str] = field(default_factory=list)  # a guard worker stopped mid-check
    held: list[str] = field(default_factory=list)  # lost too often: held for review
    resent: list[str] = field(default_factory=list)  # the message was lost
    failed: list[str] = field(default_factory=list)  # could not be recovered: finalize_failed


def reap_moderating(p: Platform) -> ModerationReapReport:
    """Moderation claims whose heartbeat stopped go back to the queue (or, after
    max_attempts, to review); unclaimed moderating jobs whose message was lost are sent
    again."""
    report = ModerationReapReport()
    now = p.clock()
    stale_cutoff = now - timedelta(seconds=p.settings.heartbeat_timeout)
    lost_cutoff = now - timedelta(seconds=p.settings.requeue_after)
    with p.db.session(write=False) as s:
        stale = [
            (j.id, j.attempt, j.max_attempts, j.priority)
            for j in s.scalars(
                select(Job).where(
                    Job.status == _MODERATING,
                    Job.worker_id.is_not(None),
                    Job.heartbeat_at < stale_cutoff,
                )
            )
        ]
        lost = [
            (j.id, j.priority)
            for j in s.scalars(
                select(Job).where(
                    Job.status == _MODERATING,
                    Job.worker_id.is_(None),
                    Job.enqueued_at < lost_cutoff,
                )
            )
        ]
    # One job's trouble never stops the pass (services.jobs.periodic): a check that cannot
    # be recovered is failed with FINALIZE_FAILED, credits released; an outage stops the pass.
    for job_id, attempt, max_attempts, priority in stale:
        error = isolated(
            "reaper (moderation): recover stale check",
            job_id,
            partial(
                _reap_one, p, job_id, attempt, max_attempts, priority, stale_cutoff, now, report
            ),
        )
        if error is not None and fail_unfinishable(p, job_id, error):
            report.failed.append(job_id)
    for job_id, priority in lost:  # a message that cannot be sent is tried on a later pass
        isolated(
            "reaper (moderation): re-send lost check",
            job_id,
            partial(_resend, p, job_id, priority, lost_cutoff, now, report),
        )
    if report.requeued or report.held or report.resent or report.failed:
        log.info("reaper (moderation): %s", report)
    return report


def _resend(
    p: Platform,
    job_id: str,
    priority: int,
    lost_cutoff: datetime,
    now: datetime,
    report: ModerationReapReport,
) -> None:
    with p.db.session() as s:
        result = s.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.status == _MODERATING,
                Job.worker_id.is_(None),
                Job.enqueued_at < lost_cutoff,
            )
            .values(enqueued_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return
    p.queue.enqueue(job_id, queue=MODERATION_QUEUE, priority=priority)
    report.resent.append(job_id)


def _reap_one(
    p: Platform,
    job_id: str,
    attempt: int,
    max_attempts: int,
    priority: int,
    stale_cutoff: datetime,
    now: datetime,
    report: ModerationReapReport,
) -> None:
    still_stale = [
        Job.status == _MODERATING,
        Job.worker_id.is_not(None),
        Job.heartbeat_at < stale_cutoff,
    ]
    with p.db.session() as s:
        if attempt >= max_attempts:  # the guard keeps dying on it: a person decides
            if not repo.transition(
                s,
                job_id,
                JobStatus.REVIEW,
                extra_where=[*still_stale, Job.attempt == attempt],
                worker_id=None,
                heartbeat_at=None,
            ):
                return
            s.execute(update(Job).where(Job.id == job_id).values(attempt=0))
            job = repo.job_for(s, job_id, None)
            assert job is not None
            open_review(
                s,
                job,
                kind="policy",
                stage="submit",
                categories=[],
                now=now,
                message=f"the guard model stopped answering {attempt} times",
            )
            report.held.append(job_id)
            return
        result = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempt == attempt, *still_stale)
            .values(worker_id=None, heartbeat_at=None, enqueued_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return
        repo.append_event(
            s,
            job_id,
            EventType.REQUEUED,
            {"status": _MODERATING, "reason": "heartbeat_timeout", "attempt": attempt},
            now,
        )
    p.queue.enqueue(job_id, queue=MODERATION_QUEUE, priority=priority)
    report.requeued.append(job_id)
