"""The KPI dashboard's figures over time (analytics.trends): weekly mean generation cost by
model, and D1/D7/D30 retention per weekly signup cohort, on hand-made rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reelforge.analytics.records import AccountRow, JobRow, UsageRow
from reelforge.analytics.trends import cohort_retention, cost_over_time


def t(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, 2, hour, tzinfo=UTC) + timedelta(days=day)  # day 0: a Monday


def use(job: str, day: int, cost: float, model: str | None, outcome: str = "succeeded", **kw):  # type: ignore[no-untyped-def]
    return UsageRow(
        account_id=kw.pop("account", "a"),
        job_id=job,
        kind=kw.pop("kind", "compute"),
        cost_usd=cost,
        outcome=outcome,
        created_at=t(day),
        model=model,
        **kw,
    )


def test_cost_over_time_groups_generations_by_week_and_model() -> None:
    accounts = [AccountRow("a", t(0)), AccountRow("ops", t(0), plan="internal")]
    usage = [
        use("j1", 0, 0.10, "wan"),
        use("j1", 0, 0.02, None, kind="storage"),  # the same generation: 0.12
        use("j2", 3, 0.30, "wan"),
        use("j3", 6, 0.05, "ltx"),
        use("j4", 7, 0.20, "wan"),  # the next week
        use("j5", 1, 9.00, "wan", outcome="failed"),  # waste, not a generation
        use("j6", 1, 9.00, "wan", account="ops"),  # the operator's own: left out
        use("j7", 1, 9.00, "wan", plan="internal"),  # metered on the internal plan
    ]
    r = cost_over_time(accounts=accounts, usage=usage, now=t(30))
    assert r["weeks"] == ["2026-W10", "2026-W11"] and r["models"] == ["ltx", "wan"]
    assert r["rows"] == [
        ["2026-W10", "2026-03-02", "ltx", 1, 0.05, 0.05],
        ["2026-W10", "2026-03-02", "wan", 2, 0.21, 0.42],
        ["2026-W11", "2026-03-09", "wan", 1, 0.2, 0.2],
    ]
    windowed = cost_over_time(accounts=accounts, usage=usage, now=t(30), since=t(7, 0))
    assert [row[0] for row in windowed["rows"]] == ["2026-W11"]


def test_cohort_retention_per_signup_week() -> None:
    accounts = [
        AccountRow("a", t(0)),  # Monday of week 10
        AccountRow("b", t(2)),  # Wednesday of week 10
        AccountRow("c", t(8)),  # week 11
        AccountRow("ops", t(1), plan="internal"),
    ]
    jobs = [
        JobRow("1", "a", t(1)),  # a: D1
        JobRow("2", "a", t(7)),  # a: D7
        JobRow("3", "b", t(9)),  # b: D7
        JobRow("4", "c", t(9)),  # c: D1
        JobRow("5", "ops", t(2)),
    ]
    rows = cohort_retention(accounts=accounts, jobs=jobs, now=t(20))
    assert [(r["week"], r["signups"]) for r in rows] == [("2026-W10", 2), ("2026-W11", 1)]
    w10, w11 = rows
    assert w10["d1"] == {"eligible": 2, "retained": 1, "share": 0.5}
    assert w10["d7"] == {"eligible": 2, "retained": 2, "share": 1.0}
    assert w10["d30"] == {"eligible": 0, "retained": 0, "share": None}  # not passed yet
    assert w11["d1"]["share"] == 1.0 and w11["d7"] == {"eligible": 1, "retained": 0, "share": 0.0}
