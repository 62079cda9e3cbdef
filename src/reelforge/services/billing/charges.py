"""Billing on the job path: price a request, reserve its credits inside the submit
transaction (after the plan's concurrency limit and the key's and organisation's budgets),
and capture or release them when the job ends, with the job's measured cost.

Plugged into the platform in `bootstrap` as a SubmitRecorder and a FinalHook; submit calls
`quote` directly (the price is part of the request's validation).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.billing.sheet import BillingSheet, Plan, load_sheet
from reelforge.domain.job import JobStatus
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import RateLimited
from reelforge.services.billing import ledger, metering
from reelforge.services.billing.ratelimit import RateLimiter, RateState
from reelforge.storage.billing_tables import PlanChange, UsageEvent
from reelforge.storage.tables import Account, ApiKey, Job

log = logging.getLogger(__name__)

_HISTORY = 50  # measured jobs an estimate averages over
_MEASURED_TTL_S = 60.0


@dataclass(frozen=True)
class Quote:
    credits: int
    breakdown: dict[str, Any]
    device_seconds: float | None
    device: str | None
    cost_usd: float | None
    basis: str  # measured | profile | none: where the device-time estimate comes from

    def view(self, sheet_version: str) -> dict[str, Any]:
        return {
            "object": "quote",
            "credits": self.credits,
            "breakdown": self.breakdown,
            "estimated_device_seconds": None
            if self.device_seconds is None
            else round(self.device_seconds, 3),
            "estimated_cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "device": self.device,
            "estimate_basis": self.basis,
            "price_sheet": sheet_version,
        }


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def sheet_of(p: Platform) -> BillingSheet:
    """The billing sheet in force (also when billing is off: reports and payments read it)."""
    billing = p.billing
    if isinstance(billing, Billing):
        return billing.sheet
    return load_sheet(p.settings.billing_file)


def credits_spent(s: Session, scope: Any, since: datetime, *, except_job: str | None = None) -> int:
    """Credits of jobs created since `since` in `scope` (a condition on Job) that are
    reserved or captured: what budgets count."""
    q = select(func.coalesce(func.sum(Job.credits), 0)).where(
        scope, Job.created_at >= since, Job.billing.in_(("reserved", "captured"))
    )
    if except_job is not None:
        q = q.where(Job.id != except_job)
    return int(s.scalar(q) or 0)


def _allowance_key(s: Session, base: str, account: Account, period_start: datetime) -> str:
    """The idempotency key of a period's allowance; a plan that started within the period
    gets its own, by its plan change (so pro → premier → pro grants pro's again, as a
    replacement)."""
    started = account.plan_started_at
    if started is None or started <= period_start:
        return base
    change = s.scalar(select(func.max(PlanChange.id)).where(PlanChange.account_id == account.id))
    return f"{base}:{account.plan}:{change or started.isoformat()}"


def features_of(spec: JobSpec) -> tuple[str, ...]:
    found = []
    if spec.mode is Mode.FIRST_LAST_FRAME:
        found.append("first_last_frame")
    if spec.mode is Mode.EXTEND:
        found.append("extend")
    return tuple(found)


class Billing:
    def __init__(self, p: Platform, sheet: BillingSheet):
        self.p = p
        self.sheet = sheet
        self.rate_limiter = RateLimiter()
        self._measured_cache: dict[
            tuple[str, str, str], tuple[float, tuple[float | None, str | None, str]]
        ] = {}

    def limit_rate(
        self,
        key_id: str,
        plan_name: str | None,
        *,
        read: bool = False,
    ) -> RateState:
        """Count one API request against the key's plan rate: work-creating requests against
        `requests_per_minute`, reads against `reads_per_minute` (see `RateState.allowed`)."""
        plan = self.sheet.plans.get(plan_name or "free") or self.sheet.plan("free")
        if read:
            return self.rate_limiter.take(f"{key_id}:read", plan.reads_per_minute)
        return self.rate_limiter.take(key_id, plan.requests_per_minute)

    # -- plans ----------------------------------------------------------------------------

    def plan_of(self, account: Account) -> Plan:
        try:
            return self.sheet.plan(account.plan)
        except KeyError:  # a plan removed from the sheet: treat as free, loudly
            log.warning("account %s is on unknown plan %r; using free", account.id, account.plan)
            return self.sheet.plan("free")

    @staticmethod
    def queue_priority(plan: Plan, requested: int) -> int:
        """Plan priority first (tens), then the request's own 0-9 within the plan."""
        return plan.priority * 10 + requested

    def plan_grants(self, s: Session, account: Account, now: datetime) -> None:
        """The plan's own credits for the current day or month, granted once (idempotent).
        The allowance replaces any other plan's for the period, less what was already used
        of it (`ledger.replace_allowance`): a plan change never stacks allowances.
        Stripe-managed subscriptions get theirs from Stripe's events instead."""
        plan = self.plan_of(account)
        if plan.daily_credits:
            start = day_start(now)
            ledger.replace_allowance(
                s,
                account_id=account.id,
                source="daily",
                credits=plan.daily_credits,
                key=_allowance_key(s, f"daily:{account.id}:{start.date()}", account, start),
                period_end=start + timedelta(days=1),
                now=now,
                memo=f"{plan.name} plan",
            )
        if plan.monthly_credits and account.plan_source != "stripe":
            start = month_start(now)
            ledger.replace_allowance(
                s,
                account_id=account.id,
                source="monthly",
                credits=plan.monthly_credits,
                key=_allowance_key(
                    s, f"monthly:{account.id}:{plan.name}:{start.date()}", account, start
                ),
                period_end=next_month(start),
                now=now,
                unit_usd=plan.unit_usd,
                memo=f"{plan.name} plan",
            )

    # -- pricing --------------------------------------------------------------------------

    def quote(self, spec: JobSpec, family: str, hourly_usd: float | None = None) -> Quote:
        credits, breakdown = self.sheet.credits_for(
            model=spec.model,
            family=family,
            duration=spec.duration,
            resolution=str(spec.resolution),
            preset=str(spec.preset) if spec.preset else None,
            features=features_of(spec),
        )
        per_second, device, basis = self._measured(spec)
        if per_second is None:
            profile = self.sheet.profile_seconds(
                model=spec.model,
                family=family,
                resolution=str(spec.resolution),
                preset=str(spec.preset) if spec.preset else None,
            )
            if profile is not None:
                per_second, device = profile
                basis = "profile"
        if per_second is None:
            return Quote(credits, breakdown, None, None, None, "none")
        seconds = per_second * spec.duration
        rate = hourly_usd if hourly_usd is not None else self.sheet.hourly_usd(device)
        return Quote(credits, breakdown, seconds, device, seconds * rate / 3600, basis)

    def _measured(self, spec: JobSpec) -> tuple[float | None, str | None, str]:
        """Mean measured device seconds per output second of recent jobs like this one
        (kept for a minute: quotes need not re-read it on every submit)."""
        key = (spec.model, str(spec.resolution), str(spec.preset) if spec.preset else "final")
        now = time.monotonic()
        cached = self._measured_cache.get(key)
        if cached is not None and now - cached[0] < _MEASURED_TTL_S:
            return cached[1]
        found = self._read_measured(spec)
        self._measured_cache[key] = (now, found)
        return found

    def _read_measured(self, spec: JobSpec) -> tuple[float | None, str | None, str]:
        with self.p.db.session(write=False) as s:
            rows = s.execute(
                select(UsageEvent.quantity, UsageEvent.output_seconds, UsageEvent.device)
                .where(
                    UsageEvent.kind == "compute",
                    UsageEvent.outcome == "succeeded",
                    UsageEvent.model == spec.model,
                    UsageEvent.resolution == str(spec.resolution),
                    UsageEvent.preset == (str(spec.preset) if spec.preset else "final"),
                    UsageEvent.simulated.is_(False),
                )
                .order_by(UsageEvent.id.desc())
                .limit(_HISTORY)
            ).all()
        ratios = [q / out for q, out, _ in rows if out]
        if not ratios:
            return None, None, "none"
        return sum(ratios) / len(ratios), rows[0][2], "measured"

    # -- submit (SubmitRecorder) ----------------------------------------------------------

    def lock(self, s: Session, account_id: str) -> None:
        """Serialise this account's reservations: call first in the submit transaction
        (before the job row, whose foreign key would otherwise share-lock the account and
        deadlock parallel submits on PostgreSQL)."""
        ledger.lock_account(s, account_id)

    def on_submit(self, s: Session, job: Job, now: datetime) -> None:
        account = s.get(Account, job.account_id)
        assert account is not None
        job.simulated = account.simulated  # a simulated population's jobs say so
        plan = self.plan_of(account)
        job.priority = self.queue_priority(plan, job.priority)
        if job.status == str(JobStatus.BLOCKED) or job.credits <= 0:
            return  # refused at submit: nothing is reserved, nothing is owed
        # The plan's concurrency was applied before the job was written
        # (services.jobs.admission: queued, or throttled until a slot frees).
        self._check_budgets(s, account, job, now)
        ledger.expire_lots(s, account.id, now)
        self.plan_grants(s, account, now)
        ledger.reserve(
            s,
            account_id=account.id,
            job_id=job.id,
            credits=job.credits,
            now=now,
            key_id=job.key_id,
            postpaid=plan.postpaid,
        )
        job.billing = "reserved"

    def _check_budgets(self, s: Session, account: Account, job: Job, now: datetime) -> None:
        limits: list[tuple[str, int | None, datetime, Any]] = [
            (
                "organisation daily",
                account.daily_credit_limit,
                day_start(now),
                Job.account_id == account.id,
            ),
            (
                "organisation monthly",
                account.monthly_credit_limit,
                month_start(now),
                Job.account_id == account.id,
            ),
        ]
        key = s.get(ApiKey, job.key_id) if job.key_id else None
        if key is not None:
            limits += [
                ("key daily", key.daily_credit_limit, day_start(now), Job.key_id == key.id),
                ("key monthly", key.monthly_credit_limit, month_start(now), Job.key_id == key.id),
            ]
        for name, limit, since, scope in limits:
            if limit is None:
                continue
            spent = credits_spent(s, scope, since, except_job=job.id)
            if spent + job.credits > limit:
                window = "day" if "daily" in name else "month"
                resets = since + timedelta(days=1) if window == "day" else next_month(since)
                raise RateLimited(
                    f"the {name} budget is {limit} credits; {spent} are spent this {window} "
                    f"and this request needs {job.credits}",
                    code="budget_exceeded",
                    field="budget",
                    retry_after=max(1.0, (resets - now).total_seconds()),
                )

    # -- final (FinalHook) ----------------------------------------------------------------

    def on_final(self, s: Session, job: Job, now: datetime) -> None:
        account = s.get(Account, job.account_id)
        assert account is not None
        plan = self.plan_of(account)
        status = job.status
        if job.billing == "reserved":
            if status == str(JobStatus.SUCCEEDED) or not self.sheet.refunds(status):
                job.credits_charged = ledger.capture(
                    s, account_id=account.id, job_id=job.id, now=now
                )
                job.billing = "captured"
            else:
                ledger.release(s, account_id=account.id, job_id=job.id, now=now)
                job.billing = "released"
        elif (
            job.billing in ("none", "released")
            and status == str(JobStatus.SUCCEEDED)
            and job.credits
        ):
            # approved on appeal after a block (nothing held): charged what the account has
            ledger.lock_account(s, account.id)
            ledger.expire_lots(s, account.id, now)
            self.plan_grants(s, account, now)
            job.credits_charged = ledger.charge(
                s,
                account_id=account.id,
                job_id=job.id,
                credits=job.credits,
                now=now,
                postpaid=plan.postpaid,
            )
            job.billing = "captured"
        cost = metering.meter_job(s, self.sheet, job, account, plan.name, now)
        job.cost_usd = round(cost, 6)
        s.flush()
