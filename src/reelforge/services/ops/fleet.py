"""What the operator console's fleet page shows: queue depth per queue and by model and
priority, running jobs, every worker seen lately with its heartbeat (the same data as
/healthz and GET /v1/admin/workers), and failures by error code (the figures of /metrics,
read from the database the same way)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from reelforge.app.platform import Platform
from reelforge.domain.job import JobStatus
from reelforge.services.jobs import workers
from reelforge.storage.tables import Job

WAITING = (str(JobStatus.QUEUED), str(JobStatus.THROTTLED))
FAILURES_SINCE = timedelta(days=7)  # the failures table's default window
RUNNING_SHOWN = 200


def fleet(p: Platform, *, failures_since: datetime | None = None) -> dict[str, Any]:
    """Queues, waiting jobs by model and priority, running jobs, workers and failures by code
    (finished at or after `failures_since`; default: the last 7 days)."""
    queues: dict[str, int | None] = {}
    for name in p.backends.queues():
        try:
            queues[name] = p.queue.size(name)
        except Exception:  # a queue that cannot be read is shown as unknown, not a 500
            queues[name] = None
    now = p.clock()
    since = failures_since if failures_since is not None else now - FAILURES_SINCE
    with p.db.session(write=False) as s:
        depth = s.execute(
            select(Job.model, Job.priority, Job.status, func.count())
            .where(Job.status.in_(WAITING))
            .group_by(Job.model, Job.priority, Job.status)
            .order_by(Job.model, Job.priority.desc(), Job.status)
        ).all()
        running = s.execute(
            select(
                Job.id,
                Job.account_id,
                Job.model,
                Job.priority,
                Job.worker_id,
                Job.stage,
                Job.progress,
                Job.started_at,
                Job.heartbeat_at,
            )
            .where(Job.status == str(JobStatus.RUNNING))
            .order_by(Job.started_at)
            .limit(RUNNING_SHOWN)
        ).all()
        failures = s.execute(
            select(Job.error_code, Job.model, func.count())
            .where(Job.status == str(JobStatus.FAILED), Job.finished_at >= since)
            .group_by(Job.error_code, Job.model)
            .order_by(func.count().desc(), Job.error_code, Job.model)
        ).all()
    return {
        "queues": queues,
        "depth": [
            {"model": m, "priority": int(pr), "status": st, "jobs": int(n)}
            for m, pr, st, n in depth
        ],
        "running": [
            {
                "id": r.id,
                "account_id": r.account_id,
                "model": r.model,
                "priority": r.priority,
                "worker_id": r.worker_id,
                "stage": r.stage,
                "progress": round(float(r.progress or 0.0), 4),
                "started_at": r.started_at.isoformat() if r.started_at else None,
                "seconds_since_heartbeat": (
                    round((now - r.heartbeat_at).total_seconds(), 1) if r.heartbeat_at else None
                ),
            }
            for r in running
        ],
        "failures": [
            {"code": code or "unknown", "model": m, "jobs": int(n)} for code, m, n in failures
        ],
        "failures_since": since.isoformat(),
        "workers": workers.list_workers(p, live_only=False),
    }
