"""Accounts as customers: plan, segment, balance, grants, budgets and enterprise invoices
(`reelforge accounts ...`, `GET /v1/account`)."""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from reelforge.app.platform import Platform
from reelforge.errors import CapabilityMissing, Conflict, InvalidRequest, NotFound
from reelforge.services.accounts.accounts import AccountRef, ensure_account
from reelforge.services.billing import ledger
from reelforge.services.billing.charges import (
    Billing,
    credits_spent,
    day_start,
    month_start,
    next_month,
)
from reelforge.storage import repositories as repo
from reelforge.storage.billing_tables import Payment
from reelforge.storage.tables import Account, ApiKey, Job

SEGMENTS = ("creator", "merchant", "enterprise")


def _billing(p: Platform) -> Billing:
    billing = p.billing
    if not isinstance(billing, Billing):  # None: billing is off
        raise CapabilityMissing("billing is off on this deployment", code="billing_disabled")
    return billing


def _check_plan(billing: Billing, plan: str) -> None:
    if plan not in billing.sheet.plans:
        raise InvalidRequest(
            f"unknown plan {plan!r}; plans: {', '.join(billing.sheet.plans)}",
            code="unknown_plan",
            field="plan",
        )


def _check_segment(segment: str) -> None:
    if segment not in SEGMENTS:
        raise InvalidRequest(
            f"segment must be one of {', '.join(SEGMENTS)}", code="invalid_segment", field="segment"
        )


def create(
    p: Platform,
    name: str,
    *,
    plan: str | None = None,
    segment: str = "creator",
    admin: bool = False,
    simulated: bool = False,
) -> dict[str, Any]:
    """A new account on `plan` (default: the settings' default plan)."""
    billing = _billing(p)
    if plan is not None:
        _check_plan(billing, plan)
    _check_segment(segment)
    with p.db.session(write=False) as s:
        if repo.account_by_name(s, name.strip()) is not None:
            raise Conflict(
                f"account {name!r} already exists", code="account_exists", field="account"
            )
    # the signup itself records the plan it starts on (conversion counts from it)
    ref = ensure_account(
        p, name, admin=admin or None, plan=plan, segment=segment, simulated=simulated
    )
    return summary(p, ref.id)


def set_plan(p: Platform, name: str, plan: str) -> dict[str, Any]:
    """Move an account to another plan (operator-managed). The new plan's allowance for the
    current period replaces what is left of the old one's, less what the account already
    used of its allowance this period; top-ups and grants are untouched (docs/billing.md)."""
    billing = _billing(p)
    _check_plan(billing, plan)
    now = p.clock()
    with p.db.session() as s:
        account = repo.account_named(s, name)
        if account.plan != plan or account.plan_source != "operator":
            ledger.change_plan(s, account, plan, "operator", now)
        billing.plan_grants(s, account, now)
        account_id = account.id
    return summary(p, account_id)


def set_segment(p: Platform, name: str, segment: str) -> dict[str, Any]:
    _check_segment(segment)
    with p.db.session() as s:
        account = repo.account_named(s, name)
        account.segment = segment
        account_id = account.id
    return summary(p, account_id)


def grant(
    p: Platform,
    name: str,
    credits: object,
    *,
    days: int | None = None,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Give an account credits (a top-up by hand, a goodwill grant), valid `days` days
    (default: the sheet's top-up validity). Repeating an idempotency key grants once: the
    repeat returns `granted: {"credits": 0, "repeated": true, "first_credits": N}`."""
    billing = _billing(p)
    amount = ledger.check_credits(credits)
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise InvalidRequest("days must be a whole number of days, at least 1", field="days")
    now = p.clock()
    valid = days if days is not None else billing.sheet.topups.valid_days
    key = f"grant:{idempotency_key or secrets.token_hex(12)}"
    with p.db.session() as s:
        account = repo.account_named(s, name)
        first = ledger.existing(s, key)
        if first is not None and first.account_id != account.id:
            raise Conflict(
                "this idempotency key was already used for another account",
                code="idempotency_key_reused",
                field="idempotency_key",
            )
        lot = ledger.grant(
            s,
            account_id=account.id,
            credits=amount,
            source="grant",
            key=key,
            now=now,
            expires_at=now + timedelta(days=valid),
            memo=reason,
        )
        account_id, lot_id, first_credits = account.id, lot.id, lot.credits
    granted: dict[str, Any] = {
        "lot": lot_id,
        "credits": 0 if first else amount,
        "repeated": first is not None,
    }
    if first is not None:  # the key was used before: nothing was granted this time
        granted["first_credits"] = first_credits
    return {**summary(p, account_id), "granted": granted}


def _limit(value: int | None, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(
            f"{field} must be a whole number of credits (0 or more)",
            code="invalid_amount",
            field=field,
        )
    return value


def set_budget(
    p: Platform,
    name: str,
    *,
    daily: int | None,
    monthly: int | None,
    key_id: str | None = None,
    clear: bool = False,
) -> dict[str, Any]:
    """Credits per day and month for the organisation (the account) or one of its keys."""
    daily, monthly = _limit(daily, "daily"), _limit(monthly, "monthly")
    with p.db.session() as s:
        account = repo.account_named(s, name)
        target: Account | ApiKey = account
        if key_id is not None:
            key = s.get(ApiKey, key_id)
            if key is None or key.account_id != account.id:
                raise NotFound(f"account {name!r} has no key {key_id}", field="key")
            target = key
        if clear:
            target.daily_credit_limit = target.monthly_credit_limit = None
        if daily is not None:
            target.daily_credit_limit = daily
        if monthly is not None:
            target.monthly_credit_limit = monthly
        account_id = account.id
    return summary(p, account_id)


def summary(p: Platform, account_id: str) -> dict[str, Any]:
    """Plan, limits, balance (today's or this month's plan credits granted on first look)
    and credits spent today and this month."""
    billing = _billing(p)
    now = p.clock()
    with p.db.session() as s:
        account = s.get(Account, account_id)
        if account is None:
            raise NotFound(f"no account {account_id}", code="account_not_found")
        plan = billing.plan_of(account)
        billing.plan_grants(s, account, now)
        bal = ledger.balance(s, account.id, now)
        keys = s.scalars(
            select(ApiKey).where(ApiKey.account_id == account.id, ApiKey.revoked_at.is_(None))
        ).all()
        return {
            "object": "account",
            "id": account.id,
            "name": account.name,
            "plan": plan.name,
            "plan_source": account.plan_source,
            "segment": account.segment,
            "postpaid": plan.postpaid,
            "subscription_status": account.subscription_status,
            "period_end": account.period_end.isoformat() if account.period_end else None,
            "priority": plan.priority,
            "concurrency": plan.concurrency,
            "requests_per_minute": plan.requests_per_minute,
            "balance": {
                "available": bal.available,
                "held": bal.held,
                "postpaid_owed": bal.postpaid_owed,
                "lots": bal.lots,
            },
            "spent": {
                "today": credits_spent(s, Job.account_id == account.id, day_start(now)),
                "month": credits_spent(s, Job.account_id == account.id, month_start(now)),
            },
            "budgets": {
                "daily": account.daily_credit_limit,
                "monthly": account.monthly_credit_limit,
                "keys": {
                    k.id: {"daily": k.daily_credit_limit, "monthly": k.monthly_credit_limit}
                    for k in keys
                    if k.daily_credit_limit is not None or k.monthly_credit_limit is not None
                },
            },
            "simulated": account.simulated,
        }


def account_summary(p: Platform, name: str) -> dict[str, Any]:
    with p.db.session(write=False) as s:
        account_id = repo.account_named(s, name).id
    return summary(p, account_id)


def me(p: Platform, account: AccountRef) -> dict[str, Any]:
    return summary(p, account.id)


def invoice(p: Platform, name: str, *, month: str | None = None) -> dict[str, Any]:
    """Invoice a postpaid (enterprise) account for what it owes: credits x the plan's
    credit price, recorded as a payment once per account and month, and the debt cleared."""
    billing = _billing(p)
    now = p.clock()
    period = month or month_start(now).strftime("%Y-%m")
    try:
        start = datetime.strptime(period, "%Y-%m").replace(tzinfo=now.tzinfo)
    except ValueError:
        raise InvalidRequest("month must look like 2026-11", field="month") from None
    with p.db.session() as s:
        ledger.lock_account(s, (account := repo.account_named(s, name)).id)
        plan = billing.plan_of(account)
        if not plan.postpaid:
            raise Conflict(
                f"account {name!r} is on the prepaid {plan.name} plan; only "
                f"postpaid plans are invoiced",
                code="not_postpaid",
            )
        invoice_id = f"inv_{account.id}_{period}"
        found = s.get(Payment, invoice_id)
        if found is None:
            owed = ledger.balance(s, account.id, now).postpaid_owed
            amount_cents = math.ceil(round(owed * (plan.credit_usd or 0) * 100, 6))
            if owed > 0:
                ledger.settle_invoice(
                    s, account_id=account.id, invoice_id=invoice_id, credits=owed, now=now
                )
            found = Payment(
                id=invoice_id,
                account_id=account.id,
                provider="invoice",
                kind="invoice",
                plan=plan.name,
                amount_cents=amount_cents,
                currency="usd",
                credits=owed,
                simulated=account.simulated,
                created_at=now,
            )
            s.add(found)
            s.flush()
        return {
            "object": "invoice",
            "id": found.id,
            "account": account.name,
            "month": period,
            "credits": found.credits,
            "amount_usd": found.amount_cents / 100,
            "until": next_month(start).isoformat(),
        }
