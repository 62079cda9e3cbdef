"""Figures of the KPI dashboard over time, beside the report's totals (same rows, same
definitions as kpis.py and growth.py; docs/kpis.md):

* `cost_over_time`: the average cost of a generation per week and model; a generation falls
  in the week (Monday 00:00 UTC) of its first succeeded usage event;
* `cohort_retention`: for each weekly signup cohort, D1/D7/D30 retention as growth.retention
  defines it (a day counts once it has fully passed).

Pure: plain rows in, JSON-ready dicts out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from reelforge.analytics.growth import retention
from reelforge.analytics.records import (
    SUCCEEDED,
    UNKNOWN,
    AccountRow,
    JobRow,
    UsageRow,
    Window,
    mean,
    money,
    utc,
)


def _week(t: datetime) -> date:
    d = utc(t).date()
    return d - timedelta(days=d.weekday())


def _week_name(start: date) -> str:
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def cost_over_time(
    *,
    accounts: Iterable[AccountRow],
    usage: Iterable[UsageRow],
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    exclude_plans: Iterable[str] = ("internal",),
) -> dict[str, Any]:
    """Weekly mean generation cost by model: `weeks` (names, oldest first), `models`, and
    `rows` ([week, start, model, generations, mean_usd, cost_usd], weeks without a
    generation of that model left out)."""
    w = Window(since, until, now)
    excluded = set(exclude_plans)
    mine = {a.id for a in accounts if a.plan not in excluded}
    cost: dict[str, float] = defaultdict(float)
    first: dict[str, datetime] = {}
    model: dict[str, str] = {}
    for u in usage:
        if (
            u.account_id not in mine
            or u.plan in excluded
            or u.created_at not in w
            or u.outcome != SUCCEEDED
            or not u.job_id
        ):
            continue
        cost[u.job_id] += u.cost_usd
        t = utc(u.created_at)
        if u.job_id not in first or t < first[u.job_id]:
            first[u.job_id] = t
        if u.model and model.get(u.job_id, UNKNOWN) == UNKNOWN:
            model[u.job_id] = u.model
    groups: dict[tuple[date, str], list[float]] = defaultdict(list)
    for job_id, total in cost.items():
        groups[(_week(first[job_id]), model.get(job_id, UNKNOWN))].append(total)
    weeks = sorted({start for start, _ in groups})
    rows = [
        [
            _week_name(start),
            start.isoformat(),
            name,
            len(costs),
            mean(sum(costs), len(costs)),
            money(sum(costs)),
        ]
        for (start, name), costs in sorted(groups.items())
    ]
    return {
        "weeks": [_week_name(s) for s in weeks],
        "models": sorted({name for _, name in groups}),
        "rows": rows,
    }


def cohort_retention(
    *,
    accounts: Iterable[AccountRow],
    jobs: Iterable[JobRow],
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    exclude_plans: Iterable[str] = ("internal",),
) -> list[dict[str, Any]]:
    """One row per weekly signup cohort (signups in the window): `week`, `start`, `signups`
    and `d1`, `d7`, `d30`, each {eligible, retained, share} (share None until day N of some
    member has passed)."""
    w = Window(since, until, now)
    excluded = set(exclude_plans)
    members = {a.id: a for a in accounts if a.plan not in excluded}
    job_times: Mapping[str, list[datetime]] = defaultdict(list)
    for j in jobs:
        if j.account_id in members and w.observed(j.created_at):
            job_times[j.account_id].append(utc(j.created_at))
    cohorts: dict[date, list[AccountRow]] = defaultdict(list)
    for a in members.values():
        if a.created_at in w:
            cohorts[_week(a.created_at)].append(a)
    return [
        {
            "week": _week_name(start),
            "start": start.isoformat(),
            "signups": len(cohort),
            **retention(cohort, job_times, w),
        }
        for start, cohort in sorted(cohorts.items())
    ]
