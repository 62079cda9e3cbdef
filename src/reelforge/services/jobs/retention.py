"""Removing outputs and uploads: on request (DELETE) and when retention runs out.

The rows stay — the ledger, the audit log, usage reports and the job history read them —
and are marked (`deleted_at`, `purged_at`); only the files go. Blobs are content-addressed
and shared (a result-cache hit, the same image uploaded twice, another account's identical
bytes), so a blob is removed only when nothing live needs it any more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.domain.job import JobStatus
from reelforge.services.jobs.periodic import isolated
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 60.0


def mark_job_files_removed(job: Job, now: datetime) -> list[str]:
    """Within the caller's transaction: mark a job's files removed; the keys to remove once
    the transaction has committed (`remove_unused_blobs`)."""
    if job.purged_at is not None:
        return []
    job.purged_at = now
    return [k for k in (job.output_blob, job.poster_blob) if k]


def remove_unused_blobs(p: Platform, keys: Iterable[str]) -> list[str]:
    """After the commit that released them: delete the blobs nothing live needs. Returns
    the keys deleted (best effort: a store error is logged, the sweep can try again)."""
    removed: list[str] = []
    for key in dict.fromkeys(keys):
        with p.db.session(write=False) as s:
            if repo.blob_in_use(s, key):
                continue
        try:
            p.blobs.delete(key)
        except Exception:
            log.exception("blob %s could not be deleted", key)
            continue
        removed.append(key)
    return removed


class Retention:
    """Final hook: a succeeded job's output expires `output_retention_days` after it
    finished (None: kept until deleted)."""

    def __init__(self, p: Platform):
        self.p = p

    def on_final(self, s: Session, job: Job, now: datetime) -> None:
        days = self.p.settings.output_retention_days
        if days and job.status == JobStatus.SUCCEEDED and job.expires_at is None:
            job.expires_at = now + timedelta(days=days)


def _sweep_one(p: Platform, job_id: str, now: datetime, swept: list[str]) -> None:
    with p.db.session() as s:
        job = repo.job_for(s, job_id, None)
        if job is None or job.expires_at is None or job.expires_at > now:
            return
        keys = mark_job_files_removed(job, now)
    remove_unused_blobs(p, keys)
    swept.append(job_id)


def sweep_expired(p: Platform, limit: int = 100) -> list[str]:
    """Remove the files of outputs whose retention has run out; the ids of those jobs."""
    now = p.clock()
    with p.db.session(write=False) as s:
        due = list(repo.expired_outputs(s, now, limit))
    swept: list[str] = []
    for job_id in due:  # one job that cannot be swept is logged and skipped (periodic)
        isolated("retention sweep", job_id, partial(_sweep_one, p, job_id, now, swept))
    if swept:
        log.info("retention: removed the outputs of %d jobs", len(swept))
    return swept
