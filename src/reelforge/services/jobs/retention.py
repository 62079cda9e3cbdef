"""Removing outputs and uploads: on request (DELETE) and when retention runs out.

The rows stay — the ledger, the audit log, usage reports and the job history read them —
and are marked (`deleted_at`, `purged_at`); only the files go. Blobs are content-addressed
and shared (a result-cache hit, the same image uploaded twice, another account's identical
bytes), so a blob is removed only when nothing live needs it any more.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.domain.job import JobStatus
from reelforge.services.jobs.periodic import is_outage
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


class _Backoff:
    """Jobs whose sweep failed, in this process: each is skipped until its back-off runs out
    (RETRY_FIRST_S, doubling up to RETRY_MAX_S) so that jobs that keep failing neither hold
    the sweep's page nor fill the log; its failure is logged once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, tuple[datetime, int]] = OrderedDict()  # (retry at, fails)

    def waiting(self, job_id: str, now: datetime) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
            return entry is not None and entry[0] > now

    def failed(self, job_id: str, now: datetime) -> int:
        """Record a failure; how many in a row (1: the first, the one to log)."""
        with self._lock:
            fails = self._jobs.pop(job_id, (now, 0))[1] + 1
            delay = min(RETRY_FIRST_S * 2 ** (fails - 1), RETRY_MAX_S)
            self._jobs[job_id] = (now + timedelta(seconds=delay), fails)
            while len(self._jobs) > _BACKOFF_MAX:
                self._jobs.popitem(last=False)
            return fails

    def succeeded(self, job_id: str) -> int:
        """Forget a job swept at last; how many failures it had."""
        with self._lock:
            return self._jobs.pop(job_id, (None, 0))[1]


RETRY_FIRST_S = 600.0  # a job whose sweep failed is tried again after 10 minutes, then 20, ...
RETRY_MAX_S = 86400.0  # ... at most once a day
_SCAN_PAGES = 50  # pages of due jobs one pass reads at most (skipped ones cost a row read)
_BACKOFF_MAX = 100_000
_backoff = _Backoff()


def _sweep_one(p: Platform, job_id: str, now: datetime) -> bool:
    """Mark one due job's files removed and delete the blobs nothing live needs, in one
    transaction: a blob that cannot be deleted raises, and the job stays due (its file must
    still go). False when the job is not due (any more)."""
    kept: list[str] = []
    with p.db.session() as s:
        job = repo.job_for(s, job_id, None)
        if job is None or job.expires_at is None or job.expires_at > now:
            return False
        keys = mark_job_files_removed(job, now)
        s.flush()
        for key in dict.fromkeys(keys):
            if repo.blob_in_use(s, key):
                kept.append(key)
            else:
                p.blobs.delete(key)
    # Asked again once committed: another worker sweeping a job that shares the file (a
    # result-cache hit) may have asked before this commit and kept it for this job's sake
    # (PostgreSQL, READ COMMITTED); the later of the two checks sees both jobs marked.
    remove_unused_blobs(p, kept)
    return True


def sweep_expired(p: Platform, limit: int = 100) -> list[str]:
    """Remove the files of outputs whose retention has run out (at most `limit` jobs); the ids
    of those jobs. A job whose sweep fails is logged once and skipped for a back-off period;
    the pass pages past it, so jobs that keep failing never hold back the others."""
    now = p.clock()
    swept: list[str] = []
    after: tuple[datetime, str] | None = None
    for _ in range(_SCAN_PAGES):
        with p.db.session(write=False) as s:
            page = list(repo.expired_outputs_page(s, now, limit, after))
        for job_id, _expires in page:
            if len(swept) >= limit:
                break
            if _backoff.waiting(job_id, now):
                continue
            try:
                done = _sweep_one(p, job_id, now)
            except Exception as exc:
                if is_outage(exc):
                    raise
                _failed(job_id, now, exc)
                continue
            if done:
                swept.append(job_id)
                fails = _backoff.succeeded(job_id)
                if fails:
                    log.info("retention sweep: %s swept after %d failed tries", job_id, fails)
        if len(swept) >= limit or len(page) < limit:
            break
        after = (page[-1][1], page[-1][0])
    if swept:
        log.info("retention: removed the outputs of %d jobs", len(swept))
    return swept


def _failed(job_id: str, now: datetime, exc: Exception) -> None:
    fails = _backoff.failed(job_id, now)
    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    if fails == 1:
        log.error(
            "retention sweep: %s failed (%s); skipping it, tried again after %g s and less "
            "often after that (not logged again)",
            job_id,
            reason,
            RETRY_FIRST_S,
            exc_info=exc,
        )
    else:
        log.debug("retention sweep: %s failed again (%d times; %s)", job_id, fails, reason)
