"""The worker registry: each worker process writes a row when it starts and refreshes its
heartbeat while it runs, in the database every node shares — so the API node of a fleet
(`/healthz`, `GET /v1/admin/workers`) sees the workers on other machines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from reelforge import __version__
from reelforge.app.platform import Platform
from reelforge.storage.tables import WorkerRecord

FORGET_AFTER = timedelta(days=7)  # rows of workers gone this long are deleted


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    models: list[dict[str, str]]  # {"name", "queue", "device"}
    device: str
    slots: int


def served_models(p: Platform, queues: list[str]) -> list[dict[str, str]]:
    """The models a worker on `queues` runs, with the device each runs on."""
    models = []
    for name in p.backends.names():
        backend = p.backends.get(name)
        if backend is not None and backend.queue in queues:
            # neural backends name their device; the built-in ones run on the CPU
            models.append(
                {
                    "name": name,
                    "queue": backend.queue,
                    "device": str(getattr(backend, "device", "cpu")),
                }
            )
    return models


def describe_device(p: Platform, models: list[dict[str, str]]) -> str:
    if p.settings.neural_device:
        return p.settings.neural_device
    return ",".join(sorted({m["device"] for m in models})) or "cpu"


def register(p: Platform, info: WorkerInfo) -> None:
    now = p.clock()
    with p.db.session() as s:
        s.execute(delete(WorkerRecord).where(WorkerRecord.heartbeat_at < now - FORGET_AFTER))
        row = s.get(WorkerRecord, info.id)
        if row is None:
            row = WorkerRecord(id=info.id)
            s.add(row)
        row.host, row.pid, row.version = info.host[:255], info.pid, __version__[:40]
        row.queues, row.models, row.device = info.queues, info.models, info.device[:100]
        row.slots, row.busy = info.slots, 0
        row.started_at, row.heartbeat_at, row.stopped_at = now, now, None


def beat(p: Platform, worker_id: str, busy: int) -> bool:
    """Refresh a worker's heartbeat; False if it has no row (never registered, or forgotten)."""
    with p.db.session() as s:
        row = s.get(WorkerRecord, worker_id)
        if row is None:
            return False
        row.heartbeat_at, row.busy, row.stopped_at = p.clock(), busy, None
        return True


def stopped(p: Platform, worker_id: str) -> None:
    with p.db.session() as s:
        row = s.get(WorkerRecord, worker_id)
        if row is not None:
            row.stopped_at, row.busy = p.clock(), 0


def _view(row: WorkerRecord, now: datetime, live_after: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "host": row.host,
        "pid": row.pid,
        "version": row.version,
        "queues": row.queues,
        "models": row.models,
        "device": row.device,
        "slots": row.slots,
        "busy": row.busy,
        "started_at": row.started_at.isoformat(),
        "heartbeat_at": row.heartbeat_at.isoformat(),
        "seconds_since_heartbeat": round((now - row.heartbeat_at).total_seconds(), 1),
        "stopped_at": row.stopped_at.isoformat() if row.stopped_at else None,
        "live": row.stopped_at is None and row.heartbeat_at >= live_after,
    }


def list_workers(p: Platform, *, live_only: bool = True) -> list[dict[str, Any]]:
    """Workers whose heartbeat is younger than RF_HEARTBEAT_TIMEOUT and that have not stopped
    (with `live_only=False`: every worker seen in the last FORGET_AFTER, newest first)."""
    now = p.clock()
    live_after = now - timedelta(seconds=p.settings.heartbeat_timeout)
    query = select(WorkerRecord).order_by(WorkerRecord.heartbeat_at.desc())
    if live_only:
        query = query.where(
            WorkerRecord.stopped_at.is_(None), WorkerRecord.heartbeat_at >= live_after
        )
    with p.db.session(write=False) as s:
        return [_view(row, now, live_after) for row in s.scalars(query.limit(500))]
