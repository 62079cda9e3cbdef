"""The plan's concurrency, kept exact: an account never has more than its plan's
`concurrency` jobs queued on the queue or running. A job accepted over it waits as
`throttled` (its credits already reserved) and is admitted — throttled → queued, then
enqueued — when a slot frees, in submit order; only past the plan's `max_queued` waiting
jobs is a new submission refused (429 `queue_full`).

Every decision is made while holding the account's lock (`repositories.lock_account`; SQLite
serialises writers anyway): at submit, in the transaction that makes a job final
(`finalize.record_final`), when a reviewer lets a job run, and by the reaper as a safety net
for a wake-up that was missed (a crash between the two, an output held for review).
Waiting jobs are picked with SKIP LOCKED so that a wake-up never waits on a job row another
transaction holds (a cancel of that very job): no deadlock, and that job is not admitted.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from reelforge import logs
from reelforge.app.platform import Platform
from reelforge.domain.job import SLOT_STATUSES, EventType, JobStatus
from reelforge.errors import RateLimited
from reelforge.services.jobs.periodic import isolated
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Account, Job

log = logging.getLogger(__name__)

QUEUE_FULL_RETRY_S = 15  # a guess at when one of the account's jobs ends and frees a place
_SLOTS = tuple(str(s) for s in SLOT_STATUSES)
_THROTTLED = str(JobStatus.THROTTLED)
_PENDING_KEY = "reelforge.admitted"


def lock_slots(s: Session, account_id: str) -> None:
    """Serialise the account's slot decisions (its row lock, the one submit takes first).
    On PostgreSQL take it before writing any row that refers to the account: such a row
    share-locks the account, and two transactions each holding that and waiting for the
    lock deadlock."""
    repo.lock_account(s, account_id)


def _limits(p: Platform, s: Session, account_id: str) -> tuple[int, int] | None:
    """(concurrency, max_queued) of the account's plan; None when nothing is limited."""
    billing = p.billing
    if billing is None:
        return None
    account = s.get(Account, account_id)
    if account is None:
        return None
    plan = billing.plan_of(account)
    return int(plan.concurrency), int(plan.max_queued)


def _count(s: Session, account_id: str, statuses: tuple[str, ...]) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.account_id == account_id, Job.status.in_(statuses))
        )
        or 0
    )


def admit_new(p: Platform, s: Session, account_id: str, now: datetime) -> JobStatus:
    """The first status of a job about to be written for `account_id`: queued while the
    plan has a free slot (after older waiting jobs took theirs), else throttled; RateLimited
    `queue_full` when `max_queued` jobs already wait. Call in the submit transaction."""
    limits = _limits(p, s, account_id)
    if limits is None:
        return JobStatus.QUEUED
    concurrency, max_queued = limits
    lock_slots(s, account_id)
    wake(p, s, account_id, now)  # older waiting jobs first: submit order
    busy = _count(s, account_id, _SLOTS)
    if busy < concurrency:
        return JobStatus.QUEUED
    waiting = _count(s, account_id, (_THROTTLED,))
    if waiting >= max_queued:
        raise RateLimited(
            f"this plan runs {concurrency} job(s) at a time and {waiting} more already wait "
            f"(the most it holds); submit again when one has finished, or upgrade",
            code="queue_full",
            retry_after=QUEUE_FULL_RETRY_S,
        )
    return JobStatus.THROTTLED


def admit_existing(p: Platform, s: Session, account_id: str, now: datetime) -> JobStatus:
    """Where an accepted job that may now run goes (a reviewer approved it): queued while a
    slot is free, else throttled. Never refuses: the job was accepted already."""
    limits = _limits(p, s, account_id)
    if limits is None:
        return JobStatus.QUEUED
    lock_slots(s, account_id)
    wake(p, s, account_id, now)
    busy = _count(s, account_id, _SLOTS)
    return JobStatus.QUEUED if busy < limits[0] else JobStatus.THROTTLED


def wake(p: Platform, s: Session, account_id: str, now: datetime) -> list[str]:
    """Admit the account's oldest waiting jobs into its free slots (throttled → queued, an
    `admitted` event each); they are enqueued once this transaction commits. Returns their
    ids."""
    limits = _limits(p, s, account_id)
    if limits is not None:
        lock_slots(s, account_id)
        free = limits[0] - _count(s, account_id, _SLOTS)
    else:
        free = 1_000_000  # nothing limits the account (billing off): admit every waiting job
    if free <= 0:
        return []
    candidates = repo.waiting_jobs(s, account_id, free)
    admitted: list[str] = []
    for job_id, queue, priority in candidates:
        won = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == _THROTTLED)
            .values(status=str(JobStatus.QUEUED), enqueued_at=now)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            continue
        repo.append_event(
            s, job_id, EventType.ADMITTED, {"status": "queued", "reason": "slot_freed"}, now
        )
        _enqueue_after_commit(p, s, job_id, queue, priority)
        admitted.append(job_id)
    for job_id in admitted:  # a slot freed
        logs.event(log, "job.admit", job=job_id, account=account_id, status="queued")
    return admitted


def wake_all(p: Platform) -> list[str]:
    """The reaper's safety net: admit waiting jobs of every account that has a free slot."""
    with p.db.session(write=False) as s:  # read first: most waiting accounts are just busy
        waiting = [
            account_id
            for account_id in s.scalars(
                select(Job.account_id).where(Job.status == _THROTTLED).distinct().limit(1000)
            )
            if _has_free_slot(p, s, account_id)
        ]
    admitted: list[str] = []
    now = p.clock()
    for account_id in waiting:  # one account's error is logged; the others are still woken

        def one(account_id: str = account_id) -> None:
            with p.db.session() as s:
                woken = wake(p, s, account_id, now)
            admitted.extend(woken)  # committed

        isolated("reaper: wake throttled jobs", account_id, one)
    return admitted


def _has_free_slot(p: Platform, s: Session, account_id: str) -> bool:
    limits = _limits(p, s, account_id)
    return limits is None or _count(s, account_id, _SLOTS) < limits[0]


def _enqueue_after_commit(p: Platform, s: Session, job_id: str, queue: str, priority: int) -> None:
    """The queue message goes out only once the job is `queued` for every reader: sent
    earlier, a worker could find it still throttled, skip it, and wait for the reaper."""
    pending: list[tuple[str, str, int]] | None = s.info.get(_PENDING_KEY)
    if pending is None:
        pending = s.info[_PENDING_KEY] = []

        def send(session: Session) -> None:
            for jid, q, prio in session.info.pop(_PENDING_KEY, []):
                try:
                    p.queue.enqueue(jid, queue=q, priority=prio)
                except Exception:  # the job is safe in the database; the reaper enqueues it
                    log.exception("enqueue of %s failed; the reaper will retry", jid)

        def forget(session: Session, *_: Any) -> None:
            session.info.pop(_PENDING_KEY, None)

        event.listen(s, "after_commit", send, once=True)
        event.listen(s, "after_soft_rollback", forget, once=True)
    pending.append((job_id, queue, priority))
