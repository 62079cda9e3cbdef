"""Growth figures of the KPI report: signup plans, first payments, free-to-paid
conversion, D1/D7/D30 retention and weekly signup cohorts (definitions in docs/kpis.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from reelforge.analytics.records import (
    AccountRow,
    PaymentRow,
    PlanChangeRow,
    PlanInfo,
    Window,
    midnight,
    share,
    utc,
)

RETENTION_DAYS = (1, 7, 30)
COHORT_WEEKS = (1, 2, 4)
CONVERSION_DAYS = 30


def signup_plans(
    accounts: Iterable[AccountRow], changes: Sequence[PlanChangeRow]
) -> dict[str, str]:
    """The plan each account signed up on: its `signup` plan change, else the plan its first
    change left, else the plan it is on."""
    first: dict[str, PlanChangeRow] = {}
    signup: dict[str, str] = {}
    for c in changes:  # oldest first
        first.setdefault(c.account_id, c)
        if c.source == "signup":
            signup.setdefault(c.account_id, c.to_plan)
    result = {}
    for a in accounts:
        if a.id in signup:
            result[a.id] = signup[a.id]
        elif a.id in first and first[a.id].from_plan:
            result[a.id] = first[a.id].from_plan or a.plan
        else:
            result[a.id] = a.plan
    return result


def first_paid(
    payments: Iterable[PaymentRow],
    changes: Iterable[PlanChangeRow],
    plan_info: Mapping[str, PlanInfo],
    w: Window,
) -> dict[str, datetime]:
    """When each account first paid: its first payment, or its first move onto a paid plan
    (a signup onto one included), observed before the end of the window."""
    paid: dict[str, datetime] = {}

    def note(account_id: str, t: datetime) -> None:
        t = utc(t)
        if w.observed(t) and (account_id not in paid or t < paid[account_id]):
            paid[account_id] = t

    for p in payments:
        if p.amount_cents > 0:
            note(p.account_id, p.created_at)
    for c in changes:
        info = plan_info.get(c.to_plan)
        if info is not None and info.paid:
            note(c.account_id, c.created_at)
    return paid


def conversion(
    signups: Sequence[AccountRow],
    signup_plan: Mapping[str, str],
    paid_at: Mapping[str, datetime],
    plan_info: Mapping[str, PlanInfo],
    w: Window,
) -> dict[str, Any]:
    def free(a: AccountRow) -> bool:
        info = plan_info.get(signup_plan[a.id])
        return info is not None and not info.paid

    cohort = [a for a in signups if free(a)]
    limit = timedelta(days=CONVERSION_DAYS)
    within = [a for a in cohort if a.id in paid_at and paid_at[a.id] < utc(a.created_at) + limit]
    matured = {a.id for a in cohort if utc(a.created_at) + limit <= w.end}
    matured_within = [a for a in within if a.id in matured]
    ever = [a for a in cohort if a.id in paid_at]
    return {
        "signups": len(cohort),
        "converted_30d": len(within),
        "share_30d": share(len(within), len(cohort)),
        "matured_signups": len(matured),
        "matured_converted_30d": len(matured_within),
        "matured_share_30d": share(len(matured_within), len(matured)),
        "converted": len(ever),
        "share": share(len(ever), len(cohort)),
    }


def retention(
    signups: Sequence[AccountRow], job_times: Mapping[str, list[datetime]], w: Window
) -> dict[str, Any]:
    result = {}
    for n in RETENTION_DAYS:
        eligible = retained = 0
        for a in signups:
            day = utc(a.created_at).date() + timedelta(days=n)
            if midnight(day + timedelta(days=1)) > w.end:
                continue  # day N has not fully passed
            eligible += 1
            if any(t.date() == day for t in job_times.get(a.id, ())):
                retained += 1
        result[f"d{n}"] = {
            "eligible": eligible,
            "retained": retained,
            "share": share(retained, eligible),
        }
    return result


def signup_cohorts(
    signups: Sequence[AccountRow],
    job_times: Mapping[str, list[datetime]],
    paid_at: Mapping[str, datetime],
    w: Window,
) -> list[dict[str, Any]]:
    weeks: dict[date, list[AccountRow]] = defaultdict(list)
    for a in signups:
        d = utc(a.created_at).date()
        weeks[d - timedelta(days=d.weekday())].append(a)
    rows = []
    for start, members in sorted(weeks.items()):
        year, week, _ = start.isocalendar()
        paid = sum(1 for a in members if a.id in paid_at)
        row: dict[str, Any] = {
            "week": f"{year}-W{week:02d}",
            "start": start.isoformat(),
            "signups": len(members),
            "converted": paid,
            "converted_share": share(paid, len(members)),
        }
        for k in COHORT_WEEKS:
            lo = midnight(start + timedelta(weeks=k))
            hi = lo + timedelta(weeks=1)
            if hi > w.end:
                row[f"active_week_{k}"] = None  # that week has not fully passed
                continue
            active = sum(1 for a in members if any(lo <= t < hi for t in job_times.get(a.id, ())))
            row[f"active_week_{k}"] = share(active, len(members))
        rows.append(row)
    return rows
