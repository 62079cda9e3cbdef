"""The audit log: an append-only record of every moderation decision, review, appeal and
likeness-registry change (who, what, policy version, scores, reviewer).

Rows are written inside the transaction of the change they record. They are never updated
(a database trigger refuses it); `purge` deletes only rows older than the retention period,
which cannot be set below 180 days.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from reelforge.app.platform import Platform
from reelforge.storage import repositories as repo
from reelforge.storage.tables import AuditEntry

MIN_RETENTION_DAYS = 180


# The row write lives in storage, so that other contexts (job deletes, unlabelled exports)
# append entries without importing governance.
record = repo.record_audit


def entry_view(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.created_at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "account_id": e.account_id,
        "subject": e.subject,
        "policy": e.policy,
        "decision": e.decision,
        "categories": e.categories,
        "scores": e.scores,
        "rule": e.rule,
        "data": e.data,
    }


def entries(
    p: Platform,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    subject: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    with p.db.session(write=False) as s:
        q = select(AuditEntry).order_by(AuditEntry.id)
        if since is not None:
            q = q.where(AuditEntry.created_at >= since)
        if until is not None:
            q = q.where(AuditEntry.created_at < until)
        if subject is not None:
            q = q.where(AuditEntry.subject == subject)
        if limit is not None:
            q = q.limit(limit)
        return [entry_view(e) for e in s.scalars(q)]


def export_jsonl(
    p: Platform,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    subject: str | None = None,
) -> Iterator[str]:
    """One JSON object per line, oldest first."""
    for entry in entries(p, since=since, until=until, subject=subject):
        yield json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


SEARCH_LIMIT = 500
CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "account_id",
    "subject",
    "policy",
    "decision",
    "categories",
    "rule",
    "scores",
    "data",
)


def search(
    p: Platform,
    *,
    account: str | None = None,
    job: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = SEARCH_LIMIT,
) -> list[dict[str, Any]]:
    """The operator console's audit search, newest first. `account` matches the entry's
    account id or the account named; `job` the subject; `actor` exactly (e.g.
    reviewer:acc_...); `action` exactly, or a family with a trailing `.` or `*`
    (`review.` or `review.*`); times are [since, until)."""
    with p.db.session(write=False) as s:
        q = select(AuditEntry).order_by(AuditEntry.id.desc())
        if account:
            named = repo.account_by_name(s, account)
            ids = {account} | ({named.id} if named is not None else set())
            q = q.where(AuditEntry.account_id.in_(sorted(ids)))
        if job:
            q = q.where(AuditEntry.subject == job)
        if actor:
            q = q.where(AuditEntry.actor == actor)
        if action:
            family = action.rstrip("*")
            if family.endswith("."):
                escaped = family.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                q = q.where(AuditEntry.action.like(escaped + "%", escape="\\"))
            else:
                q = q.where(AuditEntry.action == action)
        if since is not None:
            q = q.where(AuditEntry.created_at >= since)
        if until is not None:
            q = q.where(AuditEntry.created_at < until)
        if limit is not None:
            q = q.limit(limit)
        return [entry_view(e) for e in s.scalars(q)]


def _csv_cell(value: Any) -> str:
    """A CSV cell: JSON for structures; text a spreadsheet would run as a formula (prompts,
    notes and names are outside input) gets a leading apostrophe."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\x00", "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(entries: list[dict[str, Any]]) -> Iterator[str]:
    """The entries as CSV text (a header, then one line per entry)."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(CSV_COLUMNS)
    for entry in entries:
        out.writerow([_csv_cell(entry.get(c)) for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def purge(p: Platform, now: datetime) -> int:
    """Delete entries older than the retention period; returns how many."""
    days = max(MIN_RETENTION_DAYS, p.settings.audit_retention_days)
    with p.db.session() as s:
        result = s.execute(
            delete(AuditEntry).where(AuditEntry.created_at < now - timedelta(days=days))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
