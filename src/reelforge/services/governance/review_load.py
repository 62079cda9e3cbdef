"""Reviewer load: the cost side of a wider review band and of language routing.

Per day (UTC, by when the review was opened): how many prompts and outputs were sent to a
person, by language and by category, and the median time from opening to a decision (of
those decided). The language is the one recorded with the moderation decision that held the
job (the audit entry's ``data.language``; ``und`` when none was asserted, e.g. an output
held for a face). Appeals are counted apart (``kind``): they are the users' load, not the
policy's.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from reelforge.app.platform import Platform
from reelforge.storage.tables import AuditEntry, Review

_HOLDING = ("moderation.submit", "moderation.guard", "moderation.output")


def reviewer_load(
    p: Platform, *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Sent to review per day by kind, stage, language and category; the median and p90
    time to a decision; what is still pending."""
    with p.db.session(write=False) as s:
        q = select(Review)
        if since is not None:
            q = q.where(Review.created_at >= since)
        if until is not None:
            q = q.where(Review.created_at < until)
        rows = list(s.scalars(q.order_by(Review.created_at)))
        languages: dict[str, str] = {}
        if rows:
            jobs = list({r.job_id for r in rows})
            for i in range(0, len(jobs), 500):
                for entry in s.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.subject.in_(jobs[i : i + 500]))
                    .where(AuditEntry.action.in_(_HOLDING))
                    .order_by(AuditEntry.id)
                ):
                    lang = (entry.data or {}).get("language")
                    if lang and entry.subject:
                        languages[entry.subject] = str(lang)
    days: dict[str, dict[str, Any]] = {}
    waits: dict[str, list[float]] = defaultdict(list)
    all_waits: list[float] = []
    for r in rows:
        day = r.created_at.date().isoformat()
        d = days.setdefault(
            day,
            {
                "day": day,
                "sent": 0,
                "appeals": 0,
                "by_stage": defaultdict(int),
                "by_language": defaultdict(int),
                "by_category": defaultdict(int),
                "decided": 0,
                "pending": 0,
            },
        )
        if r.kind == "appeal":
            d["appeals"] += 1
        else:
            d["sent"] += 1
            d["by_stage"][r.stage] += 1
            d["by_language"][languages.get(r.job_id, "und")] += 1
            for category in r.categories or ["(none)"]:
                d["by_category"][str(category)] += 1
        if r.decided_at is not None:
            d["decided"] += 1
            wait = (r.decided_at - r.created_at).total_seconds()
            waits[day].append(wait)
            all_waits.append(wait)
        else:
            d["pending"] += 1
    out_days = []
    for day, d in sorted(days.items()):
        out_days.append(
            {
                **d,
                "by_stage": dict(sorted(d["by_stage"].items())),
                "by_language": dict(sorted(d["by_language"].items())),
                "by_category": dict(sorted(d["by_category"].items())),
                "median_seconds_to_decision": _median(waits[day]),
            }
        )
    return {
        "object": "reviewer_load",
        "days": out_days,
        "total_sent": sum(d["sent"] for d in out_days),
        "total_appeals": sum(d["appeals"] for d in out_days),
        "pending": sum(d["pending"] for d in out_days),
        "median_seconds_to_decision": _median(all_waits),
        "p90_seconds_to_decision": _p90(all_waits),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1)
