"""Reports over the money side: load the rows, hand them to `reelforge.analytics`.

`kpi_report` reads accounts, jobs, usage events, payments, plan changes and consumed ledger
entries of either the real or the simulated data (never both), leaves out the operator's own
accounts (plan `internal`) and returns the KPI report of docs/kpis.md.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from reelforge.analytics import kpis
from reelforge.analytics.commerce import CommerceClipRow, commerce_usage
from reelforge.analytics.tables import ReportTable, cell_text, report_tables
from reelforge.app.platform import Platform
from reelforge.billing.sheet import BillingSheet
from reelforge.errors import InvalidRequest
from reelforge.services.accounts.accounts import INTERNAL_PLAN
from reelforge.services.billing.charges import sheet_of
from reelforge.services.billing.ledger import CONSUMED
from reelforge.storage.billing_tables import (
    CreditLot,
    LedgerEntry,
    Payment,
    PlanChange,
    UsageEvent,
)
from reelforge.storage.commerce_tables import CommerceBatch, CommerceBatchItem
from reelforge.storage.tables import Account, Job

# the tables of the report, for the entry points (`reelforge report` shows and exports them)
__all__ = [
    "ReportTable",
    "cell_text",
    "kpi_report",
    "kpi_report_and_rows",
    "parse_when",
    "plan_infos",
    "report_tables",
    "write_csv",
]


def parse_when(value: str | None, field: str) -> datetime | None:
    """A report bound from the command line or a query string: YYYY-MM-DD (midnight UTC) or
    an ISO 8601 date-time (UTC when it names no offset)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidRequest(
            f"{field} must be YYYY-MM-DD or an ISO 8601 date-time, got {value!r}", field=field
        ) from None


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def plan_infos(sheet: BillingSheet) -> list[kpis.PlanInfo]:
    return [
        kpis.PlanInfo(
            name=name, paid=plan.paid, postpaid=plan.postpaid, credit_usd=plan.credit_usd or 0.0
        )
        for name, plan in sheet.plans.items()
    ]


def kpi_report(
    p: Platform,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    simulated: bool = False,
) -> dict[str, Any]:
    """The KPI report over [since, until) (None: unbounded) of the real data, or with
    `simulated` of the simulated data only."""
    return kpi_report_and_rows(p, since=since, until=until, simulated=simulated)[0]


def kpi_report_and_rows(
    p: Platform,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    simulated: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`kpi_report`, and the rows it was computed from (accounts, usage, payments, plan
    changes, jobs, consumed credits: analytics.kpis' records), read once for figures the
    report does not hold (the console's charts over time)."""
    since = _aware(since) if since else None
    until = _aware(until) if until else None
    if since and until and since >= until:
        raise InvalidRequest("since must be before until", field="since")
    sheet = sheet_of(p)
    now = p.clock()
    with p.db.session(write=False) as s:
        rows = _load(s, since, until, simulated)
        hint = None if simulated else _simulated_only_hint(s)
        clips = _commerce_clips(s, {a.id for a in rows["accounts"]})
    report = kpis.kpi_report(
        **rows,
        plans=plan_infos(sheet),
        now=now,
        since=since,
        until=until,
        exclude_plans=(INTERNAL_PLAN,),
    )
    report["commerce_usage"] = commerce_usage(
        clips,
        (u for u in rows["usage"] if u.plan != INTERNAL_PLAN),
        rows["consumed"],
        {i.name: i.credit_usd for i in plan_infos(sheet) if i.postpaid},
    )
    return {
        "object": report.pop("object"),
        "data": "simulated" if simulated else "real",
        "price_sheet": sheet.version,
        "hint": hint,
        **report,
    }, rows


def _commerce_clips(s: Session, accounts: set[str]) -> list[CommerceClipRow]:
    """The jobs of commerce batches (promo clips) of the report's accounts."""
    return [
        CommerceClipRow(
            job_id=r.job_id,
            account_id=r.account_id,
            sku=r.sku,
            template=r.template,
            aspect=r.aspect,
        )
        for r in s.execute(
            select(
                CommerceBatchItem.job_id,
                CommerceBatch.account_id,
                CommerceBatchItem.sku,
                CommerceBatchItem.template,
                CommerceBatchItem.aspect,
            )
            .join(CommerceBatch, CommerceBatch.id == CommerceBatchItem.batch_id)
            .where(CommerceBatchItem.job_id.is_not(None))
        )
        if r.account_id in accounts
    ]


def _simulated_only_hint(s: Session) -> str | None:
    """A line for a real report on a database that holds only simulated customers."""

    def count(simulated: bool) -> int:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Account)
                .where(Account.simulated.is_(simulated), Account.plan != INTERNAL_PLAN)
            )
            or 0
        )

    if count(False) == 0 and count(True) > 0:
        return (
            "this database holds only simulated data (from `reelforge simulate`): "
            "ask for the simulated report (`reelforge report --simulated`, "
            "simulated=true on the API)"
        )
    return None


def _csv_cell(value: Any) -> Any:
    """A cell for a spreadsheet: text that a spreadsheet would run as a formula (a plan or
    model name is outside input) is quoted with a leading apostrophe."""
    if isinstance(value, str):
        value = value.replace("\x00", "")
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value


def write_csv(report: dict[str, Any], directory: Path) -> list[Path]:
    """Write each table of the report as DIRECTORY/NAME.csv (raw values: USD to 6 decimals,
    shares as fractions, empty for n/a); returns the files written."""
    if directory.exists() and not directory.is_dir():
        raise InvalidRequest(f"{directory} exists and is not a directory", field="csv")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table in report_tables(report):
        path = directory / f"{table.name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow([c.name for c in table.columns])
            for row in table.rows:
                out.writerow(["" if v is None else _csv_cell(v) for v in row])
        written.append(path)
    return written


def _bounds(
    column: Any, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if since is not None:
        found.append(column >= since)
    if until is not None:
        found.append(column < until)
    return found


def _load(
    s: Session, since: datetime | None, until: datetime | None, simulated: bool
) -> dict[str, Any]:
    mine = (Account.simulated.is_(simulated), Account.plan != INTERNAL_PLAN)
    accounts = [
        kpis.AccountRow(id=r.id, created_at=r.created_at, plan=r.plan, segment=r.segment)
        for r in s.execute(
            select(Account.id, Account.created_at, Account.plan, Account.segment).where(*mine)
        )
    ]

    usage = [
        kpis.UsageRow(
            account_id=r.account_id,
            job_id=r.job_id,
            kind=r.kind,
            cost_usd=float(r.cost_usd or 0.0),
            outcome=r.outcome,
            created_at=r.created_at,
            model=r.model,
            plan=r.plan,
            resolution=r.resolution,
            preset=r.preset,
            segment=r.segment,
        )
        for r in s.execute(
            select(
                UsageEvent.account_id,
                UsageEvent.job_id,
                UsageEvent.kind,
                UsageEvent.cost_usd,
                UsageEvent.outcome,
                UsageEvent.created_at,
                UsageEvent.model,
                UsageEvent.plan,
                UsageEvent.resolution,
                UsageEvent.preset,
                UsageEvent.segment,
            )
            .join(Account, Account.id == UsageEvent.account_id)
            .where(
                UsageEvent.simulated.is_(simulated),
                *mine,
                *_bounds(UsageEvent.created_at, since, until),
            )
        )
    ]

    # every payment and plan change up to `until`: first payments and signup plans need the
    # history before the window (the analytics keep the window's own for revenue)
    payments = [
        kpis.PaymentRow(
            account_id=r.account_id,
            amount_cents=int(r.amount_cents),
            kind=r.kind,
            created_at=r.created_at,
            plan=r.plan,
            currency=r.currency or "usd",
        )
        for r in s.execute(
            select(
                Payment.account_id,
                Payment.amount_cents,
                Payment.kind,
                Payment.created_at,
                Payment.plan,
                Payment.currency,
            )
            .join(Account, Account.id == Payment.account_id)
            .where(
                Payment.simulated.is_(simulated), *mine, *_bounds(Payment.created_at, None, until)
            )
        )
    ]
    plan_changes = [
        kpis.PlanChangeRow(
            account_id=r.account_id,
            to_plan=r.to_plan,
            created_at=r.created_at,
            from_plan=r.from_plan,
            source=r.source,
        )
        for r in s.execute(
            select(
                PlanChange.account_id,
                PlanChange.to_plan,
                PlanChange.created_at,
                PlanChange.from_plan,
                PlanChange.source,
            )
            .join(Account, Account.id == PlanChange.account_id)
            .where(*mine, *_bounds(PlanChange.created_at, None, until))
        )
    ]

    jobs = [
        kpis.JobRow(id=r.id, account_id=r.account_id, created_at=r.created_at, status=r.status)
        for r in s.execute(
            select(Job.id, Job.account_id, Job.created_at, Job.status)
            .join(Account, Account.id == Job.account_id)
            .where(Job.simulated.is_(simulated), *mine, *_bounds(Job.created_at, since, until))
        )
    ]

    # credits each job consumed, per lot, with the lot's price (postpaid credits: no lot)
    consumed = [
        kpis.ConsumedRow(
            job_id=r.job_id,
            credits=int(r.credits or 0),
            unit_usd=None if r.lot_id is None else float(r.unit_usd or 0),
        )
        for r in s.execute(
            select(
                LedgerEntry.job_id,
                LedgerEntry.lot_id,
                CreditLot.unit_usd,
                func.sum(LedgerEntry.amount).label("credits"),
            )
            .join(Account, Account.id == LedgerEntry.account_id)
            .outerjoin(CreditLot, CreditLot.id == LedgerEntry.lot_id)
            .where(
                LedgerEntry.book == CONSUMED,
                LedgerEntry.job_id.is_not(None),
                *mine,
                *_bounds(LedgerEntry.created_at, since, until),
            )
            .group_by(LedgerEntry.job_id, LedgerEntry.lot_id, CreditLot.unit_usd)
        )
    ]
    return {
        "accounts": accounts,
        "usage": usage,
        "payments": payments,
        "plan_changes": plan_changes,
        "jobs": jobs,
        "consumed": consumed,
    }
