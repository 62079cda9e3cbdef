"""The studio's gallery: an account's videos, newest first, filtered by status and model,
a page at a time (keyset on the time-sortable id, as GET /v1/videos)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.job import JobStatus
from reelforge.errors import InvalidRequest
from reelforge.services.jobs.edge import has_control
from reelforge.services.jobs.views import job_view
from reelforge.storage.tables import Job

PAGE = 24
MAX_MODEL = 100


def statuses() -> list[str]:
    return [s.value for s in JobStatus]


def list_videos(
    p: Platform,
    account: AccountRef,
    *,
    status: str | None = None,
    model: str | None = None,
    before: str | None = None,
    limit: int = PAGE,
) -> dict[str, Any]:
    """`{"data": [job views], "next": id to pass as `before` or None}`; only this account's."""
    if status and status not in statuses():
        raise InvalidRequest(f"status must be one of {', '.join(statuses())}", field="status")
    if model and (len(model) > MAX_MODEL or has_control(model)):
        raise InvalidRequest("model is not a model name", field="model")
    if before and (len(before) > 40 or has_control(before) or not before.startswith("vid_")):
        raise InvalidRequest("before is not a video id", field="before")
    q = select(Job).where(Job.account_id == account.id)
    if status:
        q = q.where(Job.status == status)
    if model:
        q = q.where(Job.model == model)
    if before:
        q = q.where(Job.id < before)
    with p.db.session(write=False) as s:
        rows = s.scalars(q.order_by(Job.id.desc()).limit(limit + 1)).all()
        data = [job_view(j) for j in rows[:limit]]
    return {"data": data, "next": rows[limit - 1].id if len(rows) > limit else None}


def models_used(p: Platform, account: AccountRef) -> list[str]:
    """The models this account's videos were made with (the gallery's model filter)."""
    with p.db.session(write=False) as s:
        return sorted(
            m for m in s.scalars(select(Job.model).where(Job.account_id == account.id).distinct())
        )
