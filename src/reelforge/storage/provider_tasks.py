"""The per-job checkpoint of a remote provider task (storage.provider_tables.ProviderTask).

Written before the worker waits on a remote task, so that a worker killed while it waits is
followed by one that resumes the same task: a job pays for one remote task, not one per
attempt. `active_count` counts the remote tasks of a provider that still occupy one of its
concurrency slots (their job is queued or running).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reelforge.storage.provider_tables import ProviderModel, ProviderTask
from reelforge.storage.tables import Job

ACTIVE_STATES = ("creating", "submitted", "running")
TERMINAL_STATES = ("succeeded", "failed", "cancelled")


def get(s: Session, job_id: str) -> ProviderTask | None:
    return s.get(ProviderTask, job_id, populate_existing=True)


def lock_provider(s: Session, provider: str) -> None:
    """Serialise slot accounting of one provider across workers (PostgreSQL: row locks on its
    registered models; SQLite serialises writers anyway)."""
    s.execute(
        select(ProviderModel.name).where(ProviderModel.provider == provider).with_for_update()
    ).all()


def active_count(s: Session, provider: str, *, except_job: str | None = None) -> int:
    query = (
        select(func.count())
        .select_from(ProviderTask)
        .join(Job, Job.id == ProviderTask.job_id)
        .where(
            ProviderTask.provider == provider,
            ProviderTask.state.in_(ACTIVE_STATES),
            Job.status.in_(("queued", "running")),
        )
    )
    if except_job is not None:
        query = query.where(ProviderTask.job_id != except_job)
    return int(s.scalar(query) or 0)


def start_create(
    s: Session, job_id: str, provider: str, remote_model: str, attempt: int, now: datetime
) -> ProviderTask:
    """Mark the create call as under way (state creating, creates + 1), before it is sent."""
    row = get(s, job_id)
    if row is None:
        row = ProviderTask(
            job_id=job_id,
            provider=provider,
            remote_model=remote_model,
            task_id=None,
            creates=0,
            polls=0,
            created_at=now,
        )
        s.add(row)
    row.state = "creating"
    row.attempt = attempt
    row.creates = (row.creates or 0) + 1
    row.updated_at = now
    s.flush()
    return row


def set_state(
    s: Session,
    job_id: str,
    state: str,
    now: datetime,
    *,
    task_id: str | None = None,
    attempt: int | None = None,
    detail: str | None = None,
    polled: bool = False,
    cost_usd: float | None = None,
) -> None:
    values: dict[str, object] = {"state": state, "updated_at": now}
    if task_id is not None:
        values["task_id"] = task_id
    if attempt is not None:
        values["attempt"] = attempt
    if detail is not None:
        values["detail"] = detail[:2000]
    if polled:
        values["polls"] = ProviderTask.polls + 1
    if cost_usd is not None:
        values["cost_usd"] = cost_usd
    s.execute(update(ProviderTask).where(ProviderTask.job_id == job_id).values(**values))


def release_slot(s: Session, job_id: str, now: datetime) -> None:
    """A create that never made a task (throttled, refused): the row no longer holds a slot."""
    s.execute(
        update(ProviderTask)
        .where(ProviderTask.job_id == job_id, ProviderTask.task_id.is_(None))
        .values(state="throttled", updated_at=now)
    )


def record_callback(s: Session, job_id: str, provider: str, now: datetime) -> bool:
    """A provider's callback arrived for `job_id`: the waiting worker polls at once."""
    result = s.execute(
        update(ProviderTask)
        .where(ProviderTask.job_id == job_id, ProviderTask.provider == provider)
        .values(callback_at=now)
    )
    rowcount: int = result.rowcount  # type: ignore[attr-defined]
    return rowcount == 1


def callback_at(s: Session, job_id: str) -> datetime | None:
    return s.scalar(select(ProviderTask.callback_at).where(ProviderTask.job_id == job_id))
