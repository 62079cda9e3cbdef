"""Queries and conditional writes over the tables. Every function takes the caller's
Session (the caller owns the transaction) and, where rows belong to an account, an
`account_id` so tenants can never see each other's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reelforge.domain.job import EventType, JobStatus, sources_of
from reelforge.errors import NotFound
from reelforge.storage.billing_tables import PlanChange
from reelforge.storage.blobs import StoredBlob
from reelforge.storage.tables import (
    Account,
    ApiKey,
    AuditEntry,
    Blob,
    Job,
    JobEvent,
    LikenessFace,
    Review,
    Upload,
    WebhookAttempt,
    WebhookDelivery,
)

# --- accounts and keys -------------------------------------------------------------------


def lock_account(s: Session, account_id: str) -> None:
    """Hold the account's row until the transaction ends. SQLite writers are serialised by
    BEGIN IMMEDIATE already; PostgreSQL needs the row lock."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(select(Account.id).where(Account.id == account_id).with_for_update())


def reread_locked(s: Session, account: Account) -> None:
    """Re-read the account under its row lock (PostgreSQL), so that what the caller compares
    is what a concurrent transaction may just have written; SQLite writers are serialised."""
    if s.get_bind().dialect.name == "postgresql":
        s.refresh(account, with_for_update=True)


# --- the audit log (governance reads it; any context appends within its transaction) ------


def record_audit(
    s: Session,
    now: datetime,
    *,
    actor: str,
    action: str,
    account_id: str | None = None,
    subject: str | None = None,
    decision: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry within the caller's transaction. `decision` is
    Decision.to_dict()."""
    decided = decision or {}
    extra = {**({"signals": decided["signals"]} if decided.get("signals") else {}), **(data or {})}
    s.add(
        AuditEntry(
            created_at=now,
            actor=actor,
            action=action,
            account_id=account_id,
            subject=subject,
            policy=decided.get("policy"),
            decision=decided.get("decision"),
            categories=decided.get("categories"),
            scores=decided.get("scores"),
            rule=decided.get("rule") or None,
            data=extra or None,
        )
    )


def account_by_name(s: Session, name: str) -> Account | None:
    return s.scalar(select(Account).where(Account.name == name))


def account_named(
    s: Session, name: str, *, field: str | None = "account", or_id: bool = False
) -> Account:
    """The account called `name` (with `or_id`, also the one whose id it is), or NotFound
    `account_not_found`: the one "account by name or 404" of the operator's commands."""
    row = account_by_name(s, name) or (s.get(Account, name) if or_id else None)
    if row is None:
        raise NotFound(f"no account {name!r}", code="account_not_found", field=field)
    return row


def record_plan_change(
    s: Session, account_id: str, from_plan: str | None, to_plan: str, source: str, now: datetime
) -> PlanChange:
    """The one record of an account's plan changing (signup, operator, stripe), flushed so
    its id can key the ledger entries it causes."""
    change = PlanChange(
        account_id=account_id, from_plan=from_plan, to_plan=to_plan, source=source, created_at=now
    )
    s.add(change)
    s.flush()
    return change


def api_key_by_prefix(s: Session, prefix: str) -> ApiKey | None:
    return s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


def waiting_jobs(s: Session, account_id: str, limit: int) -> list[tuple[str, str, int]]:
    """The account's oldest throttled jobs (id, queue, priority), at most `limit`, each
    row-locked; rows another transaction holds are skipped (it is admitting them)."""
    rows = s.execute(
        select(Job.id, Job.queue, Job.priority)
        .where(Job.account_id == account_id, Job.status == str(JobStatus.THROTTLED))
        .order_by(Job.id)
        .limit(limit)  # ids sort by creation time: submit order
        .with_for_update(skip_locked=True)
    ).all()
    return [(job_id, queue, priority) for job_id, queue, priority in rows]


# --- blobs -------------------------------------------------------------------------------


def register_blob(s: Session, blob: StoredBlob, now: datetime) -> None:
    """Record a stored blob; a no-op if it is already known (content-addressed)."""
    values = {
        "key": blob.key,
        "size_bytes": blob.size_bytes,
        "content_type": blob.content_type,
        "created_at": now,
    }
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    s.execute(insert(Blob).values(**values).on_conflict_do_nothing(index_elements=["key"]))


def blob_is_referenced(s: Session, key: str) -> bool:
    return bool(
        s.scalar(
            select(
                exists().where(Blob.key == key)
                | exists().where(Upload.blob_key == key)
                | exists().where(or_(Job.output_blob == key, Job.poster_blob == key))
            )
        )
    )


# --- uploads -----------------------------------------------------------------------------


def upload_for(
    s: Session, account_id: str, upload_id: str, *, deleted: bool = False
) -> Upload | None:
    """An account's upload; a deleted one only with `deleted`."""
    q = select(Upload).where(Upload.id == upload_id, Upload.account_id == account_id)
    if not deleted:
        q = q.where(Upload.deleted_at.is_(None))
    return s.scalar(q)


def upload_with_content(s: Session, account_id: str, blob_key: str) -> Upload | None:
    """The account's oldest live upload of these bytes (uploads are deduplicated by hash)."""
    return s.scalar(
        select(Upload)
        .where(
            Upload.account_id == account_id,
            Upload.blob_key == blob_key,
            Upload.deleted_at.is_(None),
        )
        .order_by(Upload.created_at, Upload.id)
        .limit(1)
    )


def _waiting_statuses() -> list[str]:
    return [str(x) for x in JobStatus if not x.is_final]


def upload_in_use(s: Session, upload_id: str) -> str | None:
    """A job not final yet that reads this upload (its id), or None."""
    inputs = cast(Job.inputs, String)
    return s.scalar(
        select(Job.id)
        .where(Job.status.in_(_waiting_statuses()), inputs.contains(upload_id, autoescape=True))
        .limit(1)
    )


def blob_in_use(s: Session, key: str) -> bool:
    """Whether anything still live needs a blob: an upload not deleted, an output or poster not
    removed, a likeness photo, or the input of a job not final yet (any account: blobs are
    content-addressed and shared)."""
    return bool(
        s.scalar(
            select(
                exists().where(Upload.blob_key == key, Upload.deleted_at.is_(None))
                | exists().where(
                    or_(Job.output_blob == key, Job.poster_blob == key), Job.purged_at.is_(None)
                )
                | exists().where(LikenessFace.photo_blob == key)
                | exists().where(
                    Job.status.in_(_waiting_statuses()),
                    cast(Job.inputs, String).contains(key, autoescape=True),
                )
            )
        )
    )


def expired_outputs(s: Session, now: datetime, limit: int = 100) -> Sequence[str]:
    """Ids of jobs whose output's retention has run out and whose files are still there."""
    return [job_id for job_id, _ in expired_outputs_page(s, now, limit)]


def expired_outputs_page(
    s: Session, now: datetime, limit: int = 100, after: tuple[datetime, str] | None = None
) -> Sequence[tuple[str, datetime]]:
    """(id, expires_at) of due jobs as `expired_outputs`, in (expires_at, id) order, from just
    after `after` (the last row of the previous page): a sweep pages past jobs it skips."""
    query = select(Job.id, Job.expires_at).where(Job.expires_at <= now, Job.purged_at.is_(None))
    if after is not None:
        expires, job_id = after
        query = query.where(
            or_(Job.expires_at > expires, and_(Job.expires_at == expires, Job.id > job_id))
        )
    rows = s.execute(query.order_by(Job.expires_at, Job.id).limit(limit)).all()
    return [(str(job_id), expires_at) for job_id, expires_at in rows if expires_at is not None]


# --- jobs --------------------------------------------------------------------------------


def job_for(s: Session, job_id: str, account_id: str | None) -> Job | None:
    """A job by id; with `account_id`, only if it belongs to that account."""
    q = select(Job).where(Job.id == job_id)
    if account_id is not None:
        q = q.where(Job.account_id == account_id)
    return s.scalar(q)


def job_by_external_id(s: Session, account_id: str, external_id: str) -> Job | None:
    return s.scalar(select(Job).where(Job.account_id == account_id, Job.external_id == external_id))


def list_jobs(
    s: Session,
    account_id: str,
    *,
    status: str | None,
    limit: int,
    before_id: str | None,
    external_id: str | None = None,
) -> Sequence[Job]:
    """Newest first; keyset pagination on the time-sortable id."""
    q = select(Job).where(Job.account_id == account_id)
    if status:
        q = q.where(Job.status == status)
    if external_id is not None:
        q = q.where(Job.external_id == external_id)
    if before_id:
        q = q.where(Job.id < before_id)
    return s.scalars(q.order_by(Job.id.desc()).limit(limit)).all()


def append_event(
    s: Session, job_id: str, type_: EventType, data: dict[str, Any], now: datetime
) -> int:
    """Append the next event of a job; the job row's counter serialises writers."""
    seq = s.scalar(
        update(Job)
        .where(Job.id == job_id)
        .values(event_seq=Job.event_seq + 1)
        .returning(Job.event_seq)
    )
    if seq is None:
        raise LookupError(f"job {job_id} does not exist")
    s.add(JobEvent(job_id=job_id, seq=seq, type=str(type_), data=data, created_at=now))
    s.flush()
    return int(seq)


def events_after(s: Session, job_id: str, after_seq: int, limit: int = 500) -> Sequence[JobEvent]:
    return s.scalars(
        select(JobEvent)
        .where(JobEvent.job_id == job_id, JobEvent.seq > after_seq)
        .order_by(JobEvent.seq)
        .limit(limit)
    ).all()


def transition(
    s: Session,
    job_id: str,
    target: JobStatus,
    *,
    attempt: int | None = None,
    extra_where: Sequence[Any] = (),
    **values: Any,
) -> bool:
    """Move a job to `target` if it is in a status that allows it (and, when given, still on
    `attempt`). Returns whether this call made the change — the basis of exactly-once."""
    conds = [Job.id == job_id, Job.status.in_([str(x) for x in sources_of(target)]), *extra_where]
    if attempt is not None:
        conds.append(Job.attempt == attempt)
    result = s.execute(update(Job).where(and_(*conds)).values(status=str(target), **values))
    rowcount: int = result.rowcount  # type: ignore[attr-defined]
    return rowcount == 1


def claim_job(s: Session, job_id: str, worker_id: str, now: datetime) -> Job | None:
    """queued → running for one worker; None if someone else got it or it is not queued."""
    result = s.execute(
        update(Job)
        .where(
            Job.id == job_id, Job.status == str(JobStatus.QUEUED), Job.cancel_requested.is_(False)
        )
        .values(
            status=str(JobStatus.RUNNING),
            attempt=Job.attempt + 1,
            worker_id=worker_id,
            heartbeat_at=now,
            stage="starting",
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    job = s.scalar(select(Job).where(Job.id == job_id).execution_options(populate_existing=True))
    assert job is not None
    if job.started_at is None:
        job.started_at = now
    return job


def heartbeat(s: Session, job_id: str, attempt: int, now: datetime) -> tuple[bool, bool]:
    """Refresh a running job's heartbeat. Returns (still_ours, cancel_requested)."""
    row = s.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.status == str(JobStatus.RUNNING))
        .values(heartbeat_at=now)
        .returning(Job.cancel_requested)
    ).first()
    if row is None:
        return False, False
    return True, bool(row[0])


def set_progress(s: Session, job_id: str, attempt: int, progress: float, stage: str) -> bool:
    result = s.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.status == str(JobStatus.RUNNING))
        .values(progress=progress, stage=stage)
    )
    rowcount: int = result.rowcount  # type: ignore[attr-defined]
    return rowcount == 1


def stale_running_jobs(s: Session, cutoff: datetime, limit: int = 100) -> Sequence[Job]:
    return s.scalars(
        select(Job)
        .where(Job.status == str(JobStatus.RUNNING), Job.heartbeat_at < cutoff)
        .limit(limit)
    ).all()


def unclaimed_queued_jobs(s: Session, cutoff: datetime, limit: int = 500) -> Sequence[Job]:
    return s.scalars(
        select(Job)
        .where(Job.status == str(JobStatus.QUEUED), Job.enqueued_at < cutoff)
        .limit(limit)
    ).all()


def cancel_requested_waiting_jobs(s: Session, limit: int = 500) -> Sequence[Job]:
    """Jobs waiting for a worker (queued, or any other waiting status but review, which a
    cancel ends at once and an appeal may reopen) whose cancel was requested: no worker
    claims them, so only a cancel ends them (uses the status index)."""
    waiting = [
        str(x)
        for x in JobStatus
        if not x.is_final and x not in (JobStatus.RUNNING, JobStatus.REVIEW)
    ]
    return s.scalars(
        select(Job).where(Job.status.in_(waiting), Job.cancel_requested.is_(True)).limit(limit)
    ).all()


# --- webhooks ----------------------------------------------------------------------------


def due_deliveries(s: Session, now: datetime, limit: int = 20) -> Sequence[WebhookDelivery]:
    return s.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    ).all()


def lock_delivery(s: Session, delivery_id: str, now: datetime, until: datetime) -> int | None:
    """Take a pending delivery for one attempt (until `until`) and count that attempt now,
    before it is sent — an attempt whose record is never written (its worker died after the
    POST, or the write failed) still counts. The attempt's number, or None when the
    delivery is not pending or another dispatcher holds it."""
    result = s.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
        )
        .values(locked_until=until, attempts=WebhookDelivery.attempts + 1)
    )
    rowcount: int = result.rowcount  # type: ignore[attr-defined]
    if rowcount != 1:
        return None
    attempts = s.scalar(select(WebhookDelivery.attempts).where(WebhookDelivery.id == delivery_id))
    return int(attempts or 0)


def finish_delivery_attempt(
    s: Session, delivery_id: str, *, status: str, at: datetime, retry_at: datetime | None
) -> None:
    """End the attempt under way: `status` delivered or failed (finished at `at`), or pending
    again until `retry_at`; the lock is released."""
    values: dict[str, object] = {"status": status, "locked_until": None}
    if status == "pending":
        values["next_attempt_at"] = retry_at
    else:
        values["finished_at"] = at
    s.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))


def record_delivery_attempt(
    s: Session,
    delivery_id: str,
    attempt: int,
    *,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    at: datetime,
) -> None:
    """Record one attempt at a delivery (its answer or error)."""
    s.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            attempt=attempt,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            created_at=at,
        )
    )
    s.flush()


def delivery_attempts(s: Session, delivery_id: str) -> Sequence[WebhookAttempt]:
    return s.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.attempt)
    ).all()


def deliveries_for_job(s: Session, job_id: str) -> Sequence[WebhookDelivery]:
    return s.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.job_id == job_id)
        .order_by(WebhookDelivery.created_at)
    ).all()


# --- reviews -----------------------------------------------------------------------------


def pending_reviews_of(s: Session, job_id: str) -> Sequence[Review]:
    return s.scalars(
        select(Review).where(Review.job_id == job_id, Review.status == "pending")
    ).all()
