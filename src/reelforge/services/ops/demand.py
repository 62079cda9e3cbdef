"""What the capacity planner reads from the platform's own records: the arrivals of
generation requests (a `reelforge simulate` run's or real traffic) and the measured device
time of finished jobs (the metering every job carries), as plain rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from reelforge.app.platform import Platform
from reelforge.domain.job import JobStatus
from reelforge.storage.tables import Account, Job

MAX_ROWS = 500_000


def _window(stmt: Any, since: datetime | None, until: datetime | None, simulated: bool) -> Any:
    stmt = stmt.where(Job.simulated.is_(simulated))
    if since is not None:
        stmt = stmt.where(Job.created_at >= since)
    if until is not None:
        stmt = stmt.where(Job.created_at < until)
    return stmt


def arrivals(
    p: Platform,
    *,
    simulated: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = MAX_ROWS,
) -> list[dict[str, Any]]:
    """One row per submitted job, oldest first: when, whose (the account's plan now: jobs do
    not record the plan they were submitted on), what, whether the result cache answered it,
    and how long after submitting a cancelled job was cancelled. Blocked jobs are left out
    (they never reach a device)."""
    stmt = (
        select(Job, Account.plan)
        .join(Account, Account.id == Job.account_id)
        .where(Job.status != str(JobStatus.BLOCKED))
        .order_by(Job.created_at, Job.id)
        .limit(min(limit, MAX_ROWS))
    )
    rows: list[dict[str, Any]] = []
    with p.db.session(write=False) as s:
        for job, plan in s.execute(_window(stmt, since, until, simulated)):
            spec = job.spec or {}
            cancelled = job.status == str(JobStatus.CANCELLED) and job.finished_at is not None
            rows.append(
                {
                    "at": job.created_at.isoformat(),
                    "account": job.account_id,
                    "plan": plan,
                    "model": job.model,
                    "family": job.queue,
                    "resolution": spec.get("resolution", "720p"),
                    "duration": float(spec.get("duration", 5)),
                    "preset": spec.get("preset") or "",
                    "cache_hit": job.cached_from is not None,
                    "cancel_after": (
                        (job.finished_at - job.created_at).total_seconds()
                        if cancelled and job.finished_at
                        else ""
                    ),
                }
            )
    return rows


def device_records(
    p: Platform,
    *,
    simulated: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = MAX_ROWS,
) -> list[dict[str, Any]]:
    """The measured device time of succeeded jobs that ran on a device (not cache hits):
    family, resolution, preset, device, seconds of output, device seconds (the time the job
    held its worker slot, from claim to its final state)."""
    stmt = (
        select(Job)
        .where(Job.status == str(JobStatus.SUCCEEDED), Job.cached_from.is_(None))
        .order_by(Job.created_at.desc())
        .limit(min(limit, MAX_ROWS))
    )
    rows: list[dict[str, Any]] = []
    with p.db.session(write=False) as s:
        for job in s.scalars(_window(stmt, since, until, simulated)):
            # the time the job held its device: claim to final (rendering, encoding, marks,
            # storing), which is what capacity is made of; the metered total where the
            # row has no start (an older job)
            if job.started_at is not None and job.finished_at is not None:
                total: Any = (job.finished_at - job.started_at).total_seconds()
            else:
                total = (job.timings or {}).get("total")
            spec = job.spec or {}
            if not isinstance(total, int | float) or total <= 0:
                continue
            rows.append(
                {
                    "family": job.queue,
                    "resolution": spec.get("resolution", "720p"),
                    "preset": spec.get("preset") or "final",
                    "device": job.device or "cpu",
                    "duration": float(spec.get("duration", 0) or 0),
                    "seconds": float(total),
                }
            )
    return rows
